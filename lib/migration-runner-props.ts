/**
 * MigrationRunner's props, and the settings among them resolved and validated against the settings
 * table (lambdas/core/settings): defaults, bounds and rules are declared there once; this file only
 * says which prop carries which setting and adds the rules only the construct knows.
 */
import { Token, type Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { defaultOf, SETTINGS, type Setting } from '../lambdas/core/settings';

/** Throws the construct's validation error, naming the prop. */
export function fail(prop: string, message: string): never {
  throw new Error(`MigrationRunner: ${prop} ${message}`);
}

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


/** The construct's settings: the props the settings table declares, defaults applied, validated. */
export interface RunnerSettings {
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly snapshotPolicy: SnapshotPolicy;
  readonly approvalPolicy: ApprovalPolicy;
  readonly snapshotPrefix: string;
  readonly restorePrefix: string;
  readonly restoreInstanceClass: string;
  readonly alarmNames: string[];
  readonly healthUrl?: string;
  readonly monitorMinutes: number;
  readonly onFailure: OnFailurePolicy;
  readonly maxLoopIterations: number;
}

/**
 * Resolves the props the settings table declares (lambdas/core/settings: defaults, bounds, rules)
 * and checks each against it, naming the prop; then the rules only the construct knows.
 */
export function resolveRunnerSettings(props: MigrationRunnerProps): RunnerSettings {
  const identifier = props.database.identifier;
  // First: the derived defaults (snapshot and restore prefixes) are built from it.
  if (!/^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}$/.test(identifier) || identifier.endsWith('-')) fail('database.identifier', `"${identifier}" is not an RDS identifier`);
  const context = { databaseIdentifier: identifier };
  const pick = <N extends keyof RunnerSettings>(name: N, given: RunnerSettings[N] | undefined): RunnerSettings[N] =>
    (given ?? defaultOf(SETTINGS[name] as Setting, context)) as RunnerSettings[N];
  const settings: RunnerSettings = {
    lockTimeoutMs: pick('lockTimeoutMs', props.lockTimeout?.toMilliseconds()),
    statementTimeoutMs: pick('statementTimeoutMs', props.statementTimeout?.toMilliseconds()),
    snapshotPolicy: pick('snapshotPolicy', props.snapshotPolicy),
    approvalPolicy: pick('approvalPolicy', props.approvalPolicy),
    snapshotPrefix: pick('snapshotPrefix', props.snapshotPrefix),
    restorePrefix: pick('restorePrefix', props.restorePrefix),
    restoreInstanceClass: pick('restoreInstanceClass', props.restoreInstanceClass),
    alarmNames: pick('alarmNames', props.alarms?.map((alarm) => alarm.alarmName)),
    healthUrl: props.healthUrl,
    monitorMinutes: pick('monitorMinutes', props.monitorMinutes),
    onFailure: pick('onFailure', props.onFailure),
    maxLoopIterations: pick('maxLoopIterations', props.maxLoopIterations),
  };
  for (const [name, value] of Object.entries(settings)) {
    const setting: Setting = SETTINGS[name as keyof RunnerSettings];
    if (value === undefined || !setting.prop) continue;
    // Tokens (an alarm created in the same stack) are only known at deploy time.
    if (typeof value === 'string' && Token.isUnresolved(value)) continue;
    if (Array.isArray(value) && value.some((v) => Token.isUnresolved(v))) continue;
    const problem = setting.problem(value);
    if (problem === undefined) continue;
    if (setting.kind === 'integer' && setting.prop.duration) {
      fail(setting.prop.name, `must be a Duration between ${setting.min} ms and ${setting.max} ms, got ${String(value)} ms`);
    }
    fail(setting.prop.name, typeof value === 'string' ? `"${value}" ${problem}` : problem);
  }
  if (identifier.startsWith(`${settings.restorePrefix}-`)) {
    fail('restorePrefix', 'must not match the source identifier (a restore must never be able to target the source)');
  }
  if (props.securityGroups.length === 0) fail('securityGroups', 'must name at least one security group (the one the database allows)');
  return settings;
}
