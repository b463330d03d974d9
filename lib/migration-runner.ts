/**
 * MigrationRunner: the four migration Lambdas (preflight, apply, backfill, verify) wired into one
 * Step Functions state machine (`state-machines/migration.asl.json`), with least-privilege IAM,
 * logs, tracing, notifications and alarms. One per environment (see migration-runner-stack.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ArnFormat, Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type DefinitionSubstitutionKey } from '../state-machines/definition';

const REPOSITORY_ROOT = path.join(__dirname, '..');

/** The only place lib/ names handler code: entry files of the four Lambdas. */
export const HANDLER_ENTRIES = {
  preflight: path.join(REPOSITORY_ROOT, 'lambdas/handlers/preflight.ts'),
  apply: path.join(REPOSITORY_ROOT, 'lambdas/handlers/apply.ts'),
  backfill: path.join(REPOSITORY_ROOT, 'lambdas/handlers/backfill.ts'),
  verify: path.join(REPOSITORY_ROOT, 'lambdas/handlers/verify.ts'),
} as const;
export type HandlerName = keyof typeof HANDLER_ENTRIES;

/** The state machine definition (JSONPath, `${Placeholders}` substituted below). */
export const STATE_MACHINE_DEFINITION_FILE = path.join(REPOSITORY_ROOT, 'state-machines/migration.asl.json');

/** Where the migrations folder lands inside each bundle (Lambda unpacks code to /var/task). */
export const BUNDLED_MIGRATIONS_DIRECTORY = '/var/task/migrations';

/** Runtime, architecture, timeout and memory of each function: apply and backfill get Lambda's maximum. */
export const FUNCTION_SETTINGS: Record<HandlerName, { readonly timeout: Duration; readonly memorySize: number }> = {
  preflight: { timeout: Duration.minutes(5), memorySize: 1024 },
  apply: { timeout: Duration.minutes(15), memorySize: 1024 },
  backfill: { timeout: Duration.minutes(15), memorySize: 512 },
  verify: { timeout: Duration.minutes(5), memorySize: 512 },
};

/** The database the runner migrates. */
export interface DatabaseTarget {
  /** `instance` for RDS for PostgreSQL, `cluster` for Aurora PostgreSQL. */
  readonly kind: 'instance' | 'cluster';
  /** DB instance identifier or Aurora DB cluster identifier. */
  readonly identifier: string;
  /**
   * Engine of the database (used when the restore branch creates an Aurora instance).
   * @default - `postgres` for an instance, `aurora-postgresql` for a cluster
   */
  readonly engine?: 'postgres' | 'aurora-postgresql';
}

export type SnapshotPolicy = 'auto' | 'always' | 'never';
export type ApprovalPolicy = 'dangerous' | 'careful';
export type OnFailurePolicy = 'notify' | 'restore';

export interface MigrationRunnerProps {
  /** VPC of the database; the Lambdas are attached to it. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets the Lambdas run in (private or isolated with a Secrets Manager endpoint).
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Security groups of the Lambdas; the database's security group must allow them on 5432. */
  readonly securityGroups: ec2.ISecurityGroup[];
  /** The database instance or Aurora cluster. */
  readonly database: DatabaseTarget;
  /** Secret with the database credentials (RDS secret JSON); read at run time, never put in env vars. */
  readonly secret: secretsmanager.ISecret;
  /** Prisma migrations folder copied into the preflight, apply, backfill and verify bundles. */
  readonly migrationsDirectory: string;
  /**
   * lock_timeout of every migration statement (the execution input may override it per run).
   * @default Duration.seconds(3)
   */
  readonly lockTimeout?: Duration;
  /**
   * statement_timeout of migration statements; zero means none (CREATE INDEX CONCURRENTLY can be long).
   * @default Duration.seconds(0)
   */
  readonly statementTimeout?: Duration;
  /**
   * When to take a manual snapshot before applying: `auto` when a pending migration is careful or
   * dangerous, `always`, or `never`.
   * @default 'auto'
   */
  readonly snapshotPolicy?: SnapshotPolicy;
  /**
   * Which verdicts must be named in the execution input's `approve` list before they run.
   * @default 'dangerous'
   */
  readonly approvalPolicy?: ApprovalPolicy;
  /**
   * Prefix of manual snapshot identifiers; the IAM policy allows only this prefix.
   * @default - `<identifier>-mr`
   */
  readonly snapshotPrefix?: string;
  /**
   * Prefix of instances/clusters created by a point-in-time restore (at most 26 characters);
   * the IAM policy allows creating only identifiers with this prefix.
   * @default - `<identifier, first 21 characters>-pitr`
   */
  readonly restorePrefix?: string;
  /**
   * Instance class of the Aurora instance created in a restored cluster (instance restores keep the source's class).
   * @default 'db.r6g.large'
   */
  readonly restoreInstanceClass?: string;
  /**
   * CloudWatch alarms watched after a deploy; an alarm in ALARM fails the execution.
   * @default - none (the monitoring loop is skipped)
   */
  readonly alarms?: cloudwatch.IAlarm[];
  /**
   * Default minutes of post-deploy alarm monitoring (the execution input's `monitorMinutes` overrides it).
   * @default 15
   */
  readonly monitorMinutes?: number;
  /**
   * Application health URL that verify requires to answer 2xx.
   * @default - no health check
   */
  readonly healthUrl?: string;
  /**
   * Topic for success, failure and refusal notifications.
   * @default - a new KMS-encrypted topic
   */
  readonly notificationTopic?: sns.ITopic;
  /**
   * Email addresses subscribed to the notification topic.
   * @default - none
   */
  readonly notificationEmails?: string[];
  /**
   * What the failure branch does after rollback.sql and the notification: `restore` also starts a
   * point-in-time restore to a new instance (the source is never touched).
   * @default 'notify'
   */
  readonly onFailure?: OnFailurePolicy;
  /**
   * Backfill batches one execution runs before it continues in a new execution (about 11 history
   * events each: 900 stays far below Step Functions' 25,000-event limit).
   * @default 900
   */
  readonly maxLoopIterations?: number;
  /**
   * Name of the state machine (the CLI's `start --env ENV` looks for `migration-runner-ENV`).
   * @default - a unique name derived from the construct path
   */
  readonly stateMachineName?: string;
  /**
   * Retention of the Lambda and state machine log groups.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

export { DEFINITION_SUBSTITUTION_KEYS, type DefinitionSubstitutionKey } from '../state-machines/definition';

const PREFIX_RULE = /^[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]$/;

export class MigrationRunner extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Readonly<Record<HandlerName, nodejs.NodejsFunction>>;
  readonly notificationTopic: sns.ITopic;
  readonly executionsFailedAlarm: cloudwatch.Alarm;
  readonly executionsTimedOutAlarm: cloudwatch.Alarm;
  /** The definition substitutions actually applied (exposed for tests and the local executor). */
  readonly definitionSubstitutions: Readonly<Record<DefinitionSubstitutionKey, string>>;

  constructor(scope: Construct, id: string, props: MigrationRunnerProps) {
    super(scope, id);
    const isCluster = props.database.kind === 'cluster';
    const engine = props.database.engine ?? (props.database.kind === 'cluster' ? 'aurora-postgresql' : 'postgres');
    const lockTimeout = props.lockTimeout ?? Duration.seconds(3);
    const statementTimeout = props.statementTimeout ?? Duration.seconds(0);
    const snapshotPolicy = props.snapshotPolicy ?? 'auto';
    const approvalPolicy = props.approvalPolicy ?? 'dangerous';
    const snapshotPrefix = props.snapshotPrefix ?? `${props.database.identifier}-mr`;
    const restorePrefix = props.restorePrefix ?? `${props.database.identifier.slice(0, 21).replace(/-+$/, '')}-pitr`;
    const restoreInstanceClass = props.restoreInstanceClass ?? 'db.r6g.large';
    const alarms = props.alarms ?? [];
    const monitorMinutes = props.monitorMinutes ?? 15;
    const onFailure = props.onFailure ?? 'notify';
    const maxLoopIterations = props.maxLoopIterations ?? 900;
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

    validate(props, { engine, snapshotPrefix, restorePrefix, lockTimeout, monitorMinutes, maxLoopIterations });
    const migrationsDirectory = path.resolve(REPOSITORY_ROOT, props.migrationsDirectory);
    if (!existsSync(migrationsDirectory)) {
      throw new Error(`MigrationRunner: migrationsDirectory "${props.migrationsDirectory}" does not exist (resolved to ${migrationsDirectory})`);
    }

    const stack = Stack.of(this);
    const rdsArn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'rds', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const sourceArn = rdsArn(isCluster ? 'cluster' : 'db', props.database.identifier);

    // ---------------------------------------------------------------- notifications
    this.notificationTopic = props.notificationTopic ?? this.createTopic();
    for (const email of props.notificationEmails ?? []) {
      this.notificationTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    // ---------------------------------------------------------------- functions
    // Names and meanings: HANDLER_ENV in lambdas/core/contracts.ts.
    const environment: Record<string, string> = {
      DB_SECRET_ARN: props.secret.secretArn,
      DB_TLS: 'require',
      [isCluster ? 'DB_CLUSTER_IDENTIFIER' : 'DB_INSTANCE_IDENTIFIER']: props.database.identifier,
      MIGRATIONS_DIR: BUNDLED_MIGRATIONS_DIRECTORY,
      LOCK_TIMEOUT_MS: String(lockTimeout.toMilliseconds()),
      STATEMENT_TIMEOUT_MS: String(statementTimeout.toMilliseconds()),
      SNAPSHOT_POLICY: snapshotPolicy,
      SNAPSHOT_PREFIX: snapshotPrefix,
      APPROVAL_POLICY: approvalPolicy,
      ALARM_NAMES: alarms.map((alarm) => alarm.alarmName).join(','),
      POWERTOOLS_SERVICE_NAME: 'migration-runner',
      POWERTOOLS_METRICS_NAMESPACE: 'MigrationRunner',
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (props.healthUrl) environment.HEALTH_URL = props.healthUrl;

    const make = (name: HandlerName) =>
      this.createFunction(name, { vpc: props.vpc, vpcSubnets, securityGroups: props.securityGroups, environment, migrationsDirectory, logRetention });
    this.functions = { preflight: make('preflight'), apply: make('apply'), backfill: make('backfill'), verify: make('verify') };
    for (const fn of Object.values(this.functions)) props.secret.grantRead(fn);

    // preflight reads backup facts (latest restorable time, newest automated snapshot) and free storage.
    const preflight = this.functions.preflight;
    preflight.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DescribeSourceDatabase',
        actions: [isCluster ? 'rds:DescribeDBClusters' : 'rds:DescribeDBInstances'],
        resources: [sourceArn],
      }),
    );
    preflight.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DescribeBackups',
        actions: [isCluster ? 'rds:DescribeDBClusterSnapshots' : 'rds:DescribeDBSnapshots'],
        resources: isCluster
          ? [sourceArn, rdsArn('cluster-snapshot', `rds:${props.database.identifier}-*`), rdsArn('cluster-snapshot', `${snapshotPrefix}-*`)]
          : [sourceArn, rdsArn('snapshot', `rds:${props.database.identifier}-*`), rdsArn('snapshot', `${snapshotPrefix}-*`)],
      }),
    );
    preflight.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ReadFreeStorage', actions: ['cloudwatch:GetMetricStatistics', 'cloudwatch:GetMetricData'], resources: ['*'] }),
    );
    acknowledge(preflight.role!, 'AwsSolutions-IAM5[Resource::*]', 'CloudWatch GetMetricStatistics/GetMetricData support no resource-level permissions (FreeStorageSpace of the database is read); the VPC ENI and X-Ray statements likewise require "*".');
    acknowledge(preflight.role!, `AwsSolutions-IAM5[Resource::${arnPrefix(stack, 'rds')}${isCluster ? 'cluster-snapshot' : 'snapshot'}:rds:${props.database.identifier}-*]`, 'Automated snapshots are named rds:<identifier>-<date> by RDS; the wildcard covers only this database\'s automated snapshots.');
    acknowledge(preflight.role!, `AwsSolutions-IAM5[Resource::${arnPrefix(stack, 'rds')}${isCluster ? 'cluster-snapshot' : 'snapshot'}:${snapshotPrefix}-*]`, 'Manual snapshots taken by this runner are named <snapshotPrefix>-<hash of execution name>; the wildcard covers only this prefix.');

    const alarmArns = alarms.map((alarm) => alarm.alarmArn);
    if (alarmArns.length > 0) {
      this.functions.verify.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadWatchedAlarms', actions: ['cloudwatch:DescribeAlarms'], resources: alarmArns }));
    }

    // ---------------------------------------------------------------- state machine
    this.definitionSubstitutions = {
      PreflightFunctionArn: this.functions.preflight.functionArn,
      ApplyFunctionArn: this.functions.apply.functionArn,
      BackfillFunctionArn: this.functions.backfill.functionArn,
      VerifyFunctionArn: this.functions.verify.functionArn,
      NotificationTopicArn: this.notificationTopic.topicArn,
      DatabaseKind: props.database.kind,
      DatabaseIdentifier: props.database.identifier,
      DatabaseEngine: engine,
      RestorePrefix: restorePrefix,
      RestoreInstanceClass: restoreInstanceClass,
      OnFailure: onFailure,
      // numbers: the ASL reads them with States.StringToJson('...')
      LockTimeoutMs: String(lockTimeout.toMilliseconds()),
      MonitorMinutes: String(monitorMinutes),
      MaxLoopIterations: String(maxLoopIterations),
    };

    // A fixed name lets the policy name the machine's own ARN (continue-as-new) without a cycle.
    const stateMachineName = props.stateMachineName ?? Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(stateMachineName)) fail('stateMachineName', 'must be 1-80 letters, digits, "-" or "_"');
    const stateMachineArn = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      // the vendedlogs prefix keeps CloudWatch Logs' resource policy small (AWS recommendation)
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(this, 'StateMachineRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'migration-runner state machine: invokes its four Lambdas, snapshots/restores one database, notifies',
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      definitionBody: sfn.DefinitionBody.fromString(readFileSync(STATE_MACHINE_DEFINITION_FILE, 'utf8')),
      definitionSubstitutions: this.definitionSubstitutions,
      stateMachineType: sfn.StateMachineType.STANDARD,
      role,
      tracingEnabled: true,
      // ALL without execution data: inputs/outputs may name tables and migrations but never secrets; keep them out of logs anyway.
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeMigrationFunctions',
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(this.functions).map((fn) => fn.functionArn),
      }),
    );
    this.notificationTopic.grantPublish(role);
    if (!props.notificationTopic) {
      acknowledge(role, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', 'Publishing to the KMS-encrypted notification topic needs GenerateDataKey/GenerateDataKeyWithoutPlaintext on that one key (granted by Topic.grantPublish, resource-scoped to the key).');
    }
    // ContinueAsNew starts this machine again with startExecution.sync:2 and waits for the child.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ContinueAsNew', actions: ['states:StartExecution'], resources: [stateMachineArn] }));
    const childExecutions = stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'WatchContinuation', actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [childExecutions] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SyncIntegrationRule',
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
      }),
    );
    acknowledge(role, `AwsSolutions-IAM5[Resource::${arnPrefix(stack, 'states')}execution:${stateMachineName}:*]`, 'Executions of this state machine only (continue-as-new children): their names are derived at run time.');
    if (alarmArns.length > 0) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'MonitorAlarms', actions: ['cloudwatch:DescribeAlarms'], resources: alarmArns }));
    }
    this.grantSnapshotAndRestore(role, { isCluster, sourceArn, rdsArn, snapshotPrefix, restorePrefix });
    acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray tracing (PutTraceSegments, GetSamplingRules...) and CloudWatch Logs vended log delivery (CreateLogDelivery, DescribeResourcePolicies...) support no resource-level permissions; CDK adds them for tracing and logging.');

    // ---------------------------------------------------------------- alarms
    const alarmAction = new cloudwatchActions.SnsAction(this.notificationTopic);
    this.executionsFailedAlarm = new cloudwatch.Alarm(this, 'ExecutionsFailed', {
      alarmDescription: 'A migration-runner execution failed (see the execution history and the notification).',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.executionsTimedOutAlarm = new cloudwatch.Alarm(this, 'ExecutionsTimedOut', {
      alarmDescription: 'A migration-runner execution timed out.',
      metric: this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.executionsFailedAlarm.addAlarmAction(alarmAction);
    this.executionsTimedOutAlarm.addAlarmAction(alarmAction);
  }

  /** Allows starting executions (CI roles, operators, the CLI's `start`). */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Allows reading executions and their history (the CLI's `--watch`). */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantRead(grantee);
  }

  private createTopic(): sns.Topic {
    const key = new kms.Key(this, 'NotificationKey', {
      description: 'migration-runner notifications',
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to the encrypted topic: the key policy must let the service use it.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        resources: ['*'],
      }),
    );
    return new sns.Topic(this, 'Notifications', { displayName: 'migration-runner', masterKey: key, enforceSSL: true });
  }

  private createFunction(
    name: HandlerName,
    options: {
      vpc: ec2.IVpc;
      vpcSubnets: ec2.SubnetSelection;
      securityGroups: ec2.ISecurityGroup[];
      environment: Record<string, string>;
      migrationsDirectory: string;
      logRetention: logs.RetentionDays;
    },
  ): nodejs.NodejsFunction {
    const id = name.charAt(0).toUpperCase() + name.slice(1);
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: options.logRetention, removalPolicy: RemovalPolicy.RETAIN });
    // An own role instead of the AWS managed Lambda policies: logs only to this function's group.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `migration-runner ${name} Lambda`,
    });
    logGroup.grantWrite(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'VpcNetworkInterfaces',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
    acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', 'VPC-attached Lambda: EC2 network-interface actions (Describe*, Create/DeleteNetworkInterface in subnets Lambda picks) and X-Ray PutTraceSegments have no resource-level permissions.');
    const migrationsDirectory = options.migrationsDirectory;
    const fn = new nodejs.NodejsFunction(this, id, {
      entry: HANDLER_ENTRIES[name],
      handler: 'handler',
      description: `migration-runner ${name}`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: FUNCTION_SETTINGS[name].timeout,
      memorySize: FUNCTION_SETTINGS[name].memorySize,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      vpc: options.vpc,
      vpcSubnets: options.vpcSubnets,
      securityGroups: options.securityGroups,
      environment: { ...options.environment, MR_STEP: name },
      // A migration must not run twice because Lambda retried an async invoke: Step Functions owns retries.
      retryAttempts: 0,
      bundling: bundlingOptions(migrationsDirectory),
    });
    return fn;
  }

  private grantSnapshotAndRestore(
    role: iam.Role,
    o: {
      isCluster: boolean;
      sourceArn: string;
      rdsArn: (resource: string, name: string) => string;
      snapshotPrefix: string;
      restorePrefix: string;
    },
  ): void {
    const { isCluster, sourceArn, rdsArn } = o;
    const snapshotArn = rdsArn(isCluster ? 'cluster-snapshot' : 'snapshot', `${o.snapshotPrefix}-*`);
    const restoredDbArn = rdsArn('db', `${o.restorePrefix}-*`);
    const restoredClusterArn = rdsArn('cluster', `${o.restorePrefix}-*`);
    const arnText = (resource: string, name: string) => `${arnPrefix(Stack.of(this), 'rds')}${resource}:${name}`;
    const ack = (resource: string, name: string, reason: string) => acknowledge(role, `AwsSolutions-IAM5[Resource::${arnText(resource, name)}]`, reason);

    if (isCluster) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'SnapshotCluster', actions: ['rds:CreateDBClusterSnapshot', 'rds:AddTagsToResource'], resources: [sourceArn, snapshotArn] }));
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeSnapshots', actions: ['rds:DescribeDBClusterSnapshots'], resources: [sourceArn, snapshotArn] }));
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'RestoreCluster',
          actions: ['rds:RestoreDBClusterToPointInTime', 'rds:AddTagsToResource'],
          resources: [sourceArn, restoredClusterArn, rdsArn('subgrp', '*'), rdsArn('cluster-pg', '*'), rdsArn('og', '*')],
        }),
      );
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeClusters', actions: ['rds:DescribeDBClusters'], resources: [sourceArn, restoredClusterArn] }));
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'CreateRestoredInstance',
          actions: ['rds:CreateDBInstance', 'rds:AddTagsToResource'],
          resources: [restoredDbArn, restoredClusterArn, rdsArn('subgrp', '*'), rdsArn('pg', '*'), rdsArn('og', '*')],
        }),
      );
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeInstances', actions: ['rds:DescribeDBInstances'], resources: [restoredDbArn] }));
      ack('cluster-snapshot', `${o.snapshotPrefix}-*`, 'Snapshots are named <snapshotPrefix>-<hash of the execution name> at run time; scoped to that prefix.');
      ack('cluster', `${o.restorePrefix}-*`, 'Restores create a NEW cluster named <restorePrefix>-...; scoped to that prefix so the source cluster can never be the target.');
      ack('db', `${o.restorePrefix}-*`, 'The restored cluster gets a NEW instance named <restorePrefix>-...; scoped to that prefix.');
      ack('subgrp', '*', 'The restore copies the source cluster\'s DB subnet group, read at run time from DescribeDBClusters; RDS checks the group on restore.');
      ack('cluster-pg', '*', 'The restore copies the source cluster\'s parameter group, read at run time.');
      ack('pg', '*', 'CreateDBInstance in the restored cluster uses the default or copied DB parameter group, known only at run time.');
      ack('og', '*', 'RDS authorizes the option group of a restored/created resource; it is the source\'s, known only at run time.');
    } else {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'SnapshotInstance', actions: ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'], resources: [sourceArn, snapshotArn] }));
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeSnapshots', actions: ['rds:DescribeDBSnapshots'], resources: [sourceArn, snapshotArn] }));
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'RestoreInstance',
          actions: ['rds:RestoreDBInstanceToPointInTime', 'rds:AddTagsToResource'],
          resources: [sourceArn, restoredDbArn, rdsArn('subgrp', '*'), rdsArn('pg', '*'), rdsArn('og', '*')],
        }),
      );
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeInstances', actions: ['rds:DescribeDBInstances'], resources: [sourceArn, restoredDbArn] }));
      ack('snapshot', `${o.snapshotPrefix}-*`, 'Snapshots are named <snapshotPrefix>-<hash of the execution name> at run time; scoped to that prefix.');
      ack('db', `${o.restorePrefix}-*`, 'Restores create a NEW instance named <restorePrefix>-...; scoped to that prefix so the source can never be the target.');
      ack('subgrp', '*', 'The restore copies the source instance\'s DB subnet group, read at run time from DescribeDBInstances.');
      ack('pg', '*', 'The restore copies the source instance\'s DB parameter group, read at run time.');
      ack('og', '*', 'RDS authorizes the option group of the restored instance; it is the source\'s, known only at run time.');
    }
  }
}

/**
 * Packages shipped beside each bundle instead of inlined: each libpg-query build (PostgreSQL 17
 * and 18 grammars) loads its own libpg-query.wasm from its package directory, so inlining both
 * into one index.js would make them read the same file. Copied from node_modules (offline, no
 * npm install during synth).
 */
export const RUNTIME_PACKAGES = ['libpg-query', 'libpg-query-18', '@pgsql/types'] as const;

/** esbuild options of the four functions (the handlers' bundle tests use the same). */
export function bundlingOptions(migrationsDirectory: string): nodejs.BundlingOptions {
  const nodeModules = path.join(REPOSITORY_ROOT, 'node_modules');
  return {
    format: nodejs.OutputFormat.CJS,
    target: 'node24',
    minify: true,
    sourceMap: true,
    // The Lambda runtime ships the AWS SDK v3; bundling it would only grow the package.
    externalModules: ['@aws-sdk/*', 'libpg-query', 'libpg-query-18'],
    forceDockerBundling: false,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir: string, outputDir: string) => [
        // Ship the migrations with the code: the deployed functions apply exactly what was reviewed.
        `cp -R "${migrationsDirectory}" "${outputDir}/migrations"`,
        `mkdir -p "${outputDir}/node_modules/@pgsql"`,
        ...RUNTIME_PACKAGES.map((pkg) => `cp -R "${path.join(nodeModules, pkg)}" "${outputDir}/node_modules/${pkg.startsWith('@') ? pkg.split('/')[0] + '/' : ''}"`),
      ],
    },
  };
}

/**
 * How cdk-nag writes the start of an ARN in a finding id: tokens as <AWS::Partition> etc., and
 * literals when they are known (a stack with an explicit environment and partition literals on).
 */
function arnPrefix(stack: Stack, service: string): string {
  const text = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  return `arn:${text(stack.partition, 'Partition')}:${service}:${text(stack.region, 'Region')}:${text(stack.account, 'AccountId')}:`;
}

function fail(prop: string, message: string): never {
  throw new Error(`MigrationRunner: ${prop} ${message}`);
}

function acknowledge(scope: Construct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

function validate(
  props: MigrationRunnerProps,
  resolved: { engine: string; snapshotPrefix: string; restorePrefix: string; lockTimeout: Duration; monitorMinutes: number; maxLoopIterations: number },
): void {
  const fail = (prop: string, message: string): never => {
    throw new Error(`MigrationRunner: ${prop} ${message}`);
  };
  if (!/^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}$/.test(props.database.identifier) || props.database.identifier.endsWith('-')) {
    fail('database.identifier', `"${props.database.identifier}" is not an RDS identifier`);
  }
  if (props.database.kind === 'instance' && resolved.engine !== 'postgres') fail('database.engine', 'must be "postgres" for an instance');
  if (props.database.kind === 'cluster' && resolved.engine !== 'aurora-postgresql') fail('database.engine', 'must be "aurora-postgresql" for a cluster');
  if (!PREFIX_RULE.test(resolved.snapshotPrefix) || resolved.snapshotPrefix.length > 200) {
    fail('snapshotPrefix', `"${resolved.snapshotPrefix}" must start with a letter, hold letters, digits and single hyphens, and be at most 200 characters`);
  }
  if (!PREFIX_RULE.test(resolved.restorePrefix) || resolved.restorePrefix.length > 26) {
    // 26 + "-" + 32 hex digits + "-1" (Aurora instance) stays within RDS's 63 characters.
    fail('restorePrefix', `"${resolved.restorePrefix}" must start with a letter, hold letters, digits and single hyphens, and be at most 26 characters`);
  }
  if (props.database.identifier.startsWith(`${resolved.restorePrefix}-`)) {
    fail('restorePrefix', 'must not match the source identifier (a restore must never be able to target the source)');
  }
  if (!Number.isInteger(resolved.monitorMinutes) || resolved.monitorMinutes < 0 || resolved.monitorMinutes > 180) {
    fail('monitorMinutes', 'must be an integer between 0 and 180');
  }
  if (!Number.isInteger(resolved.maxLoopIterations) || resolved.maxLoopIterations < 1 || resolved.maxLoopIterations > 2000) {
    fail('maxLoopIterations', 'must be an integer between 1 and 2000 (history limit: 25,000 events)');
  }
  const lockMs = resolved.lockTimeout.toMilliseconds();
  if (lockMs < 100 || lockMs > 60_000) fail('lockTimeout', 'must be between 100 ms and 60 s');
  if (props.securityGroups.length === 0) fail('securityGroups', 'must name at least one security group (the one the database allows)');
  if (props.healthUrl !== undefined && !/^https?:\/\//.test(props.healthUrl)) fail('healthUrl', 'must be an http(s) URL');
}
