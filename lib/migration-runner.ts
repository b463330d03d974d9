/**
 * MigrationRunner: the four migration Lambdas (preflight, apply, backfill, verify) wired into one
 * Step Functions state machine (`state-machines/migration.asl.json`), with least-privilege IAM,
 * logs, tracing, notifications and alarms. One per environment (see migration-runner-stack.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ArnFormat, Duration, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { environmentOf, substitutionsOf } from '../lambdas/core/settings';
import { type DefinitionSubstitutionKey } from '../state-machines/definition';
import { afterBundlingCommands, HANDLER_BUNDLE, HANDLER_ENTRIES, REPOSITORY_ROOT, type HandlerName } from './bundling';
import { acknowledge, arnPrefix, grantSnapshotAndRestore, type ResolvedTarget } from './grants';
import { fail, resolveRunnerSettings, type MigrationRunnerProps, type RunnerSettings } from './migration-runner-props';

export * from './migration-runner-props';

export { HANDLER_ENTRIES, type HandlerName } from './bundling';

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

export { DEFINITION_SUBSTITUTION_KEYS, type DefinitionSubstitutionKey } from '../state-machines/definition';

export class MigrationRunner extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Readonly<Record<HandlerName, nodejs.NodejsFunction>>;
  readonly notificationTopic: sns.ITopic;
  readonly executionsFailedAlarm: cloudwatch.Alarm;
  readonly executionsTimedOutAlarm: cloudwatch.Alarm;
  /** The definition substitutions actually applied (exposed for tests and the local executor). */
  readonly definitionSubstitutions: Readonly<Record<DefinitionSubstitutionKey, string>>;
  /** The settings in effect (props with the settings table's defaults). */
  readonly settings: RunnerSettings;

  private readonly target: ResolvedTarget;

  constructor(scope: Construct, id: string, props: MigrationRunnerProps) {
    super(scope, id);
    this.settings = resolveRunnerSettings(props);
    this.target = this.resolveTarget(props);

    this.notificationTopic = this.createNotifications(props);
    this.functions = this.createFunctions(props);
    this.grantFunctionReads(props.alarms ?? []);
    this.definitionSubstitutions = this.substitutions();
    this.stateMachine = this.createStateMachine(props);
    [this.executionsFailedAlarm, this.executionsTimedOutAlarm] = this.createExecutionAlarms();
  }

  /** Allows starting executions (CI roles, operators, the CLI's `start`). */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Allows reading executions and their history (the CLI's `--watch`). */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantRead(grantee);
  }

  /** The database and where its migrations come from; the rules about them that are not settings. */
  private resolveTarget(props: MigrationRunnerProps): ResolvedTarget {
    const isCluster = props.database.kind === 'cluster';
    const engine = props.database.engine ?? (isCluster ? 'aurora-postgresql' : 'postgres');
    if (!isCluster && engine !== 'postgres') fail('database.engine', 'must be "postgres" for an instance');
    if (isCluster && engine !== 'aurora-postgresql') fail('database.engine', 'must be "aurora-postgresql" for a cluster');
    const migrationsDirectory = path.resolve(REPOSITORY_ROOT, props.migrationsDirectory);
    if (!existsSync(migrationsDirectory)) {
      fail('migrationsDirectory', `"${props.migrationsDirectory}" does not exist (resolved to ${migrationsDirectory})`);
    }
    const stack = Stack.of(this);
    const rdsArn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'rds', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const sourceArn = rdsArn(isCluster ? 'cluster' : 'db', props.database.identifier);
    return { kind: props.database.kind, identifier: props.database.identifier, isCluster, engine, migrationsDirectory, rdsArn, sourceArn };
  }

  private createNotifications(props: MigrationRunnerProps): sns.ITopic {
    const topic = props.notificationTopic ?? this.createTopic();
    for (const email of props.notificationEmails ?? []) topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }

  /** The four functions; their environment is the settings table's variables for the resolved settings. */
  private createFunctions(props: MigrationRunnerProps): Record<HandlerName, nodejs.NodejsFunction> {
    const { isCluster, identifier, migrationsDirectory } = this.target;
    const environment: Record<string, string> = {
      DB_SECRET_ARN: props.secret.secretArn,
      DB_TLS: 'require',
      [isCluster ? 'DB_CLUSTER_IDENTIFIER' : 'DB_INSTANCE_IDENTIFIER']: identifier,
      MIGRATIONS_DIR: BUNDLED_MIGRATIONS_DIRECTORY,
      ...environmentOf(this.settings),
      POWERTOOLS_SERVICE_NAME: 'migration-runner',
      POWERTOOLS_METRICS_NAMESPACE: 'MigrationRunner',
      NODE_OPTIONS: '--enable-source-maps',
    };
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    const make = (name: HandlerName) =>
      this.createFunction(name, { vpc: props.vpc, vpcSubnets, securityGroups: props.securityGroups, environment, migrationsDirectory, logRetention });
    const functions = { preflight: make('preflight'), apply: make('apply'), backfill: make('backfill'), verify: make('verify') };
    for (const fn of Object.values(functions)) props.secret.grantRead(fn);
    return functions;
  }

  /** preflight reads backup facts (latest restorable time, newest automated snapshot) and free storage; verify the alarms. */
  private grantFunctionReads(alarms: readonly cloudwatch.IAlarm[]): void {
    const { isCluster, identifier, rdsArn, sourceArn } = this.target;
    const { snapshotPrefix } = this.settings;
    const stack = Stack.of(this);
    const preflight = this.functions.preflight;
    preflight.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DescribeSourceDatabase',
        actions: [isCluster ? 'rds:DescribeDBClusters' : 'rds:DescribeDBInstances'],
        resources: [sourceArn],
      }),
    );
    const snapshotResource = isCluster ? 'cluster-snapshot' : 'snapshot';
    preflight.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DescribeBackups',
        actions: [isCluster ? 'rds:DescribeDBClusterSnapshots' : 'rds:DescribeDBSnapshots'],
        resources: [sourceArn, rdsArn(snapshotResource, `rds:${identifier}-*`), rdsArn(snapshotResource, `${snapshotPrefix}-*`)],
      }),
    );
    preflight.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ReadFreeStorage', actions: ['cloudwatch:GetMetricStatistics', 'cloudwatch:GetMetricData'], resources: ['*'] }),
    );
    acknowledge(preflight.role!, 'AwsSolutions-IAM5[Resource::*]', 'CloudWatch GetMetricStatistics/GetMetricData support no resource-level permissions (FreeStorageSpace of the database is read); the VPC ENI and X-Ray statements likewise require "*".');
    acknowledge(preflight.role!, `AwsSolutions-IAM5[Resource::${arnPrefix(stack, 'rds')}${snapshotResource}:rds:${identifier}-*]`, 'Automated snapshots are named rds:<identifier>-<date> by RDS; the wildcard covers only this database\'s automated snapshots.');
    acknowledge(preflight.role!, `AwsSolutions-IAM5[Resource::${arnPrefix(stack, 'rds')}${snapshotResource}:${snapshotPrefix}-*]`, 'Manual snapshots taken by this runner are named <snapshotPrefix>-<hash of execution name>; the wildcard covers only this prefix.');

    const alarmArns = alarms.map((alarm) => alarm.alarmArn);
    if (alarmArns.length > 0) {
      this.functions.verify.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadWatchedAlarms', actions: ['cloudwatch:DescribeAlarms'], resources: alarmArns }));
    }
  }

  /** The ASL's `${Placeholders}`: the functions and topic, the database, and the settings the table maps to placeholders. */
  private substitutions(): Record<DefinitionSubstitutionKey, string> {
    return {
      PreflightFunctionArn: this.functions.preflight.functionArn,
      ApplyFunctionArn: this.functions.apply.functionArn,
      BackfillFunctionArn: this.functions.backfill.functionArn,
      VerifyFunctionArn: this.functions.verify.functionArn,
      NotificationTopicArn: this.notificationTopic.topicArn,
      DatabaseKind: this.target.kind,
      DatabaseIdentifier: this.target.identifier,
      DatabaseEngine: this.target.engine,
      // LockTimeoutMs, MonitorMinutes, MaxLoopIterations, OnFailure, RestorePrefix, RestoreInstanceClass
      ...(substitutionsOf(this.settings) as Record<'LockTimeoutMs' | 'MonitorMinutes' | 'MaxLoopIterations' | 'OnFailure' | 'RestorePrefix' | 'RestoreInstanceClass', string>),
    };
  }

  private createStateMachine(props: MigrationRunnerProps): sfn.StateMachine {
    const stack = Stack.of(this);
    // A fixed name lets the policy name the machine's own ARN (continue-as-new) without a cycle.
    const stateMachineName = props.stateMachineName ?? Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(stateMachineName)) fail('stateMachineName', 'must be 1-80 letters, digits, "-" or "_"');
    const stateMachineArn = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      // the vendedlogs prefix keeps CloudWatch Logs' resource policy small (AWS recommendation)
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(this, 'StateMachineRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'migration-runner state machine: invokes its four Lambdas, snapshots/restores one database, notifies',
    });
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
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
    const alarmArns = (props.alarms ?? []).map((alarm) => alarm.alarmArn);
    if (alarmArns.length > 0) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'MonitorAlarms', actions: ['cloudwatch:DescribeAlarms'], resources: alarmArns }));
    }
    grantSnapshotAndRestore(this, role, this.target, this.settings);
    acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray tracing (PutTraceSegments, GetSamplingRules...) and CloudWatch Logs vended log delivery (CreateLogDelivery, DescribeResourcePolicies...) support no resource-level permissions; CDK adds them for tracing and logging.');
    return stateMachine;
  }

  /** Failed and timed-out executions notify the topic. */
  private createExecutionAlarms(): [cloudwatch.Alarm, cloudwatch.Alarm] {
    const alarmAction = new cloudwatchActions.SnsAction(this.notificationTopic);
    const alarm = (id: string, alarmDescription: string, metric: cloudwatch.IMetric) => {
      const created = new cloudwatch.Alarm(this, id, {
        alarmDescription,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(alarmAction);
      return created;
    };
    return [
      alarm('ExecutionsFailed', 'A migration-runner execution failed (see the execution history and the notification).', this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' })),
      alarm('ExecutionsTimedOut', 'A migration-runner execution timed out.', this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' })),
    ];
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
}

/** NodejsFunction bundling of the four functions, from the one bundling module (lib/bundling.ts). */
export function bundlingOptions(migrationsDirectory: string): nodejs.BundlingOptions {
  return {
    format: HANDLER_BUNDLE.format as nodejs.OutputFormat,
    target: HANDLER_BUNDLE.target,
    minify: HANDLER_BUNDLE.minify,
    sourceMap: HANDLER_BUNDLE.sourceMap,
    externalModules: [...HANDLER_BUNDLE.externalModules],
    forceDockerBundling: false,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir: string, outputDir: string) => afterBundlingCommands(migrationsDirectory, outputDir),
    },
  };
}

