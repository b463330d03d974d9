/**
 * MigrationRunner synthesized with Template assertions: functions, state machine, IAM scoping,
 * cdk-nag, each prop's default and one override, validation naming the prop.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { DEFINITION_SUBSTITUTION_KEYS, FUNCTION_SETTINGS } from '../../lib/migration-runner';
import { placeholdersOf, readDefinitionText } from '../../state-machines/definition';
import { actionsOf, buildRunner, nagFindings, resourcesOf, roleOfFunction, statements, statementsOfRole, type Statement } from './helpers';

const defaults = buildRunner();
const cluster = buildRunner({ database: { kind: 'cluster', identifier: 'app-aurora' } });

function fnEnv(template: Template, name: string): Record<string, string> {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Description: `migration-runner ${name}` } }));
  return fn.Properties.Environment.Variables as Record<string, string>;
}
function substitutions(template: Template): Record<string, unknown> {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  return machine.Properties.DefinitionSubstitutions as Record<string, unknown>;
}
const text = (value: unknown) => JSON.stringify(value);

describe('functions', () => {
  it.each(Object.entries(FUNCTION_SETTINGS))('%s: nodejs24.x, arm64, VPC-attached, timeout and memory as chosen, traced', (name, settings) => {
    defaults.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: `migration-runner ${name}`,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: settings.timeout.toSeconds(),
      MemorySize: settings.memorySize,
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      VpcConfig: { SubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788'], SecurityGroupIds: ['sg-0a1b2c3d4e5f60718'] },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: Match.anyValue() },
    });
  });

  it('creates exactly four functions, apply and backfill with Lambda\'s 15 minutes', () => {
    defaults.template.resourceCountIs('AWS::Lambda::Function', 4);
    expect(FUNCTION_SETTINGS.apply.timeout.toMinutes()).toBe(15);
    expect(FUNCTION_SETTINGS.backfill.timeout.toMinutes()).toBe(15);
  });

  it('gives the functions the secret ARN and never a credential in the environment', () => {
    const env = fnEnv(defaults.template, 'apply');
    expect(env.DB_SECRET_ARN).toBe('arn:aws:secretsmanager:eu-west-1:111122223333:secret:app-db-AbCdEf');
    expect(env.DB_TLS).toBe('require');
    expect(env.MIGRATIONS_DIR).toBe('/var/task/migrations');
    expect(Object.keys(env).filter((key) => /PASSWORD|DATABASE_URL/.test(key))).toEqual([]);
  });

  it('keeps every function log group with a retention (default three months)', () => {
    const groups = defaults.template.findResources('AWS::Logs::LogGroup');
    expect(Object.keys(groups)).toHaveLength(5);
    for (const group of Object.values(groups)) expect(group.Properties.RetentionInDays).toBe(90);
  });
});

describe('state machine', () => {
  it('is a STANDARD machine logging ALL without execution data, with X-Ray tracing', () => {
    defaults.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [Match.objectLike({ CloudWatchLogsLogGroup: Match.anyValue() })] },
    });
  });

  it('substitutes exactly the placeholders of the ASL', () => {
    expect(Object.keys(substitutions(defaults.template)).sort()).toEqual(placeholdersOf(readDefinitionText()));
    expect([...DEFINITION_SUBSTITUTION_KEYS].sort()).toEqual(placeholdersOf(readDefinitionText()));
  });

  it('alarms on failed and timed-out executions, notifying the topic', () => {
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      defaults.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metric,
        Namespace: 'AWS/States',
        Threshold: 1,
        AlarmActions: [Match.objectLike({ Ref: Match.stringLikeRegexp('RunnerNotifications') })],
      });
    }
  });

  it('grants start execution through grantStartExecution()', () => {
    const { stack, runner } = buildRunner();
    const ci = new iam.Role(stack, 'CiRole', { assumedBy: new iam.AccountRootPrincipal() });
    runner.grantStartExecution(ci);
    const template = Template.fromStack(stack);
    const granted = statements(template).filter(({ statement }) => actionsOf(statement).includes('states:StartExecution') && text(statement.Resource).includes('RunnerStateMachine'));
    expect(granted).toHaveLength(1);
  });
});

describe('IAM', () => {
  /** Statements allowed to use "*": AWS offers no resource-level permission for these actions. */
  const STAR_ALLOWED = new Set([
    'ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface',
    'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses',
    'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets',
    'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries',
    'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups',
    'cloudwatch:GetMetricStatistics', 'cloudwatch:GetMetricData',
  ]);

  it.each([
    ['instance', defaults],
    ['cluster', cluster],
  ])('%s: no "*" resource except where AWS requires it', (_kind, built) => {
    const unexpected = statements(built.template)
      .filter(({ statement }) => resourcesOf(statement).includes('*'))
      .filter(({ policy }) => !policy.includes('NotificationKey'))
      .flatMap(({ statement }) => actionsOf(statement).filter((action) => !STAR_ALLOWED.has(action)));
    expect(unexpected).toEqual([]);
    // the test above must look at something: the ENI statement is always there
    expect(statements(built.template).some(({ statement }) => actionsOf(statement).includes('ec2:CreateNetworkInterface'))).toBe(true);
  });

  it('never grants a service-wide action wildcard', () => {
    const wildcards = statements(defaults.template).flatMap(({ statement }) => actionsOf(statement).filter((a) => /:\*$|^\*$/.test(a)));
    expect(wildcards).toEqual([]);
  });

  it('scopes the instance snapshot and restore to the source and the configured prefixes', () => {
    const role = defaults.template.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'states.amazonaws.com' } })] } } });
    const [roleId] = Object.keys(role);
    const rds = statementsOfRole(defaults.template, roleId).filter((s) => actionsOf(s).some((a) => a.startsWith('rds:')));
    const byAction = (action: string) => text(rds.filter((s) => actionsOf(s).includes(action)).map((s) => s.Resource));
    expect(byAction('rds:CreateDBSnapshot')).toContain(':db:app-prod"');
    expect(byAction('rds:CreateDBSnapshot')).toContain(':snapshot:app-prod-mr-*');
    expect(byAction('rds:RestoreDBInstanceToPointInTime')).toContain(':db:app-prod-pitr-*');
    expect(byAction('rds:DescribeDBInstances')).toContain(':db:app-prod"');
    // nothing for Aurora on an instance stack
    expect(rds.flatMap(actionsOf).filter((a) => a.includes('Cluster'))).toEqual([]);
    // no RDS statement may name the whole service
    expect(rds.flatMap(resourcesOf)).not.toContain('*');
  });

  it('scopes the Aurora snapshot, restore and instance creation to the cluster and the prefixes', () => {
    const all = statements(cluster.template).map((s) => s.statement).filter((s) => actionsOf(s).some((a) => a.startsWith('rds:')));
    const byAction = (action: string) => text(all.filter((s) => actionsOf(s).includes(action)).map((s) => s.Resource));
    expect(byAction('rds:CreateDBClusterSnapshot')).toContain(':cluster:app-aurora"');
    expect(byAction('rds:CreateDBClusterSnapshot')).toContain(':cluster-snapshot:app-aurora-mr-*');
    expect(byAction('rds:RestoreDBClusterToPointInTime')).toContain(':cluster:app-aurora-pitr-*');
    expect(byAction('rds:CreateDBInstance')).toContain(':db:app-aurora-pitr-*');
    expect(byAction('rds:DescribeDBClusters')).toContain(':cluster:app-aurora"');
    expect(all.flatMap(actionsOf)).not.toContain('rds:CreateDBSnapshot');
  });

  it('lets only preflight read backup facts, and the state machine invoke only its four functions', () => {
    const preflightStatements = statementsOfRole(defaults.template, roleOfFunction(defaults.template, 'preflight'));
    const applyStatements = statementsOfRole(defaults.template, roleOfFunction(defaults.template, 'apply'));
    expect(preflightStatements.flatMap(actionsOf)).toEqual(expect.arrayContaining(['rds:DescribeDBInstances', 'rds:DescribeDBSnapshots']));
    expect(applyStatements.flatMap(actionsOf).filter((a) => a.startsWith('rds:') || a.startsWith('cloudwatch:'))).toEqual([]);
    expect(applyStatements.flatMap(actionsOf)).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue']));
    const invoke = statements(defaults.template).map((s) => s.statement).filter((s: Statement) => actionsOf(s).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(resourcesOf(invoke[0])).toHaveLength(4);
    expect(text(invoke[0].Resource)).not.toContain(':*');
  });

  it('lets the machine start only itself (continue-as-new)', () => {
    const start = statements(defaults.template).map((s) => s.statement).filter((s) => actionsOf(s).includes('states:StartExecution'));
    expect(start).toHaveLength(1);
    expect(text(start[0].Resource)).toMatch(/:stateMachine:Test-Runner-[A-F0-9]{8}"/);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['instance', defaults],
    ['cluster', cluster],
  ])('%s: no unacknowledged finding', (_kind, built) => {
    expect(nagFindings(built.app)).toEqual([]);
  });

  it('reports a finding that is not acknowledged (the check is live)', () => {
    const { app, stack } = buildRunner();
    new sns.Topic(stack, 'Unencrypted');
    expect(nagFindings(app).join('\n')).toMatch(/AwsSolutions-SNS[23]/);
  });
});

describe('props: default and one override', () => {
  it('database.engine: derived from the kind; an inconsistent one is refused naming the prop', () => {
    expect(substitutions(defaults.template).DatabaseEngine).toBe('postgres');
    expect(substitutions(cluster.template).DatabaseEngine).toBe('aurora-postgresql');
    expect(fnEnv(cluster.template, 'preflight').DB_CLUSTER_IDENTIFIER).toBe('app-aurora');
    expect(() => buildRunner({ database: { kind: 'instance', identifier: 'app-prod', engine: 'aurora-postgresql' } })).toThrow(/database\.engine/);
  });

  it('vpcSubnets: the private subnets; override with one subnet', () => {
    const { template } = buildRunner({ vpcSubnets: { subnets: [ec2.Subnet.fromSubnetId(new Stack(), 'S', 'subnet-0ffffffffffffffff')] } });
    template.hasResourceProperties('AWS::Lambda::Function', { VpcConfig: { SubnetIds: ['subnet-0ffffffffffffffff'] } });
  });

  it('lockTimeout: 3 s; override 5 s reaches the functions and the ASL defaults', () => {
    expect(fnEnv(defaults.template, 'apply').LOCK_TIMEOUT_MS).toBe('3000');
    expect(substitutions(defaults.template).LockTimeoutMs).toBe('3000');
    const { template } = buildRunner({ lockTimeout: Duration.seconds(5) });
    expect(fnEnv(template, 'apply').LOCK_TIMEOUT_MS).toBe('5000');
    expect(substitutions(template).LockTimeoutMs).toBe('5000');
    expect(() => buildRunner({ lockTimeout: Duration.minutes(5) })).toThrow(/lockTimeout/);
  });

  it('statementTimeout: none (0); override', () => {
    expect(fnEnv(defaults.template, 'apply').STATEMENT_TIMEOUT_MS).toBe('0');
    expect(fnEnv(buildRunner({ statementTimeout: Duration.minutes(10) }).template, 'apply').STATEMENT_TIMEOUT_MS).toBe('600000');
  });

  it('snapshotPolicy: auto; override always', () => {
    expect(fnEnv(defaults.template, 'preflight').SNAPSHOT_POLICY).toBe('auto');
    expect(fnEnv(buildRunner({ snapshotPolicy: 'always' }).template, 'preflight').SNAPSHOT_POLICY).toBe('always');
  });

  it('approvalPolicy: dangerous; override careful', () => {
    expect(fnEnv(defaults.template, 'preflight').APPROVAL_POLICY).toBe('dangerous');
    expect(fnEnv(buildRunner({ approvalPolicy: 'careful' }).template, 'preflight').APPROVAL_POLICY).toBe('careful');
  });

  it('snapshotPrefix: <identifier>-mr; override reaches preflight and the IAM scope; bad prefix refused', () => {
    expect(fnEnv(defaults.template, 'preflight').SNAPSHOT_PREFIX).toBe('app-prod-mr');
    const { template } = buildRunner({ snapshotPrefix: 'premigration' });
    expect(fnEnv(template, 'preflight').SNAPSHOT_PREFIX).toBe('premigration');
    expect(text(statements(template).map((s) => s.statement.Resource))).toContain(':snapshot:premigration-*');
    expect(() => buildRunner({ snapshotPrefix: '1-bad--' })).toThrow(/snapshotPrefix/);
  });

  it('restorePrefix: <identifier>-pitr; override; one matching the source is refused', () => {
    expect(substitutions(defaults.template).RestorePrefix).toBe('app-prod-pitr');
    const { template } = buildRunner({ restorePrefix: 'recovery' });
    expect(substitutions(template).RestorePrefix).toBe('recovery');
    expect(text(statements(template).map((s) => s.statement.Resource))).toContain(':db:recovery-*');
    expect(() => buildRunner({ restorePrefix: 'app' })).toThrow(/restorePrefix/);
    expect(() => buildRunner({ restorePrefix: 'a'.repeat(27) })).toThrow(/restorePrefix/);
  });

  it('restoreInstanceClass: db.r6g.large; override', () => {
    expect(substitutions(defaults.template).RestoreInstanceClass).toBe('db.r6g.large');
    expect(substitutions(buildRunner({ restoreInstanceClass: 'db.r7g.xlarge' }).template).RestoreInstanceClass).toBe('db.r7g.xlarge');
  });

  it('alarms: none (no DescribeAlarms permission); override names them and scopes DescribeAlarms to their ARNs', () => {
    expect(fnEnv(defaults.template, 'verify').ALARM_NAMES).toBe('');
    expect(statements(defaults.template).flatMap((s) => actionsOf(s.statement))).not.toContain('cloudwatch:DescribeAlarms');
    const alarm = cloudwatch.Alarm.fromAlarmName(new Stack(undefined, undefined, { env: { account: '111122223333', region: 'eu-west-1' } }), 'Errors', 'app-5xx');
    const template = buildRunner({ alarms: [alarm] }).template;
    expect(fnEnv(template, 'verify').ALARM_NAMES).toBe('app-5xx');
    const describe = statements(template).map((s) => s.statement).filter((s) => actionsOf(s).includes('cloudwatch:DescribeAlarms'));
    expect(describe.length).toBe(2);
    for (const s of describe) expect(text(s.Resource)).toContain(':alarm:app-5xx');
  });

  it('monitorMinutes: 15; override; out of range refused', () => {
    expect(substitutions(defaults.template).MonitorMinutes).toBe('15');
    expect(substitutions(buildRunner({ monitorMinutes: 30 }).template).MonitorMinutes).toBe('30');
    expect(() => buildRunner({ monitorMinutes: 500 })).toThrow(/monitorMinutes/);
  });

  it('healthUrl: none; override reaches verify; a non-http URL is refused', () => {
    expect(fnEnv(defaults.template, 'verify').HEALTH_URL).toBeUndefined();
    expect(fnEnv(buildRunner({ healthUrl: 'https://app.example.com/healthz' }).template, 'verify').HEALTH_URL).toBe('https://app.example.com/healthz');
    expect(() => buildRunner({ healthUrl: 'ftp://x' })).toThrow(/healthUrl/);
  });

  it('notificationTopic: a new KMS-encrypted, SSL-only topic; override uses the given topic and creates none', () => {
    defaults.template.resourceCountIs('AWS::SNS::Topic', 1);
    defaults.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    defaults.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    defaults.template.hasResourceProperties('AWS::SNS::TopicPolicy', { PolicyDocument: { Statement: [Match.objectLike({ Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Effect: 'Deny' })] } });
    const topicArn = 'arn:aws:sns:eu-west-1:111122223333:ops';
    const built = buildRunner({ notificationTopic: sns.Topic.fromTopicArn(new Stack(), 'T', topicArn) });
    built.template.resourceCountIs('AWS::SNS::Topic', 0);
    expect(substitutions(built.template).NotificationTopicArn).toBe(topicArn);
  });

  it('notificationEmails: none; override subscribes each address', () => {
    defaults.template.resourceCountIs('AWS::SNS::Subscription', 0);
    const { template } = buildRunner({ notificationEmails: ['oncall@example.com', 'dba@example.com'] });
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'dba@example.com' });
  });

  it('onFailure: notify; override restore', () => {
    expect(substitutions(defaults.template).OnFailure).toBe('notify');
    expect(substitutions(buildRunner({ onFailure: 'restore' }).template).OnFailure).toBe('restore');
  });

  it('maxLoopIterations: 900; override; out of range refused', () => {
    expect(substitutions(defaults.template).MaxLoopIterations).toBe('900');
    expect(substitutions(buildRunner({ maxLoopIterations: 100 }).template).MaxLoopIterations).toBe('100');
    expect(() => buildRunner({ maxLoopIterations: 5000 })).toThrow(/maxLoopIterations/);
  });

  it('stateMachineName: unique from the path; override', () => {
    defaults.template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: Match.stringLikeRegexp('^Test-Runner-[A-F0-9]{8}$') });
    buildRunner({ stateMachineName: 'migration-runner-production' }).template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'migration-runner-production' });
    expect(() => buildRunner({ stateMachineName: 'has space' })).toThrow(/stateMachineName/);
  });

  it('logRetention: three months; override one year', () => {
    const { template } = buildRunner({ logRetention: logs.RetentionDays.ONE_YEAR });
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) expect(group.Properties.RetentionInDays).toBe(365);
  });

  it('securityGroups, database.identifier and migrationsDirectory are validated naming the prop', () => {
    expect(() => buildRunner({ securityGroups: [] })).toThrow(/securityGroups/);
    expect(() => buildRunner({ database: { kind: 'instance', identifier: 'bad--id' } })).toThrow(/database\.identifier/);
    expect(() => buildRunner({ migrationsDirectory: '/nonexistent/migrations' })).toThrow(/migrationsDirectory/);
  });
});
