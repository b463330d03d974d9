/**
 * Every setting of migration-runner, declared once: type, default, bounds, and each place it can
 * be given (function environment variable, execution-input field, CLI flag, construct prop,
 * cdk.json field, ASL placeholder), with a one-line doc. Everything else derives from this table:
 * construct prop validation and the functions' environment (lib/migration-runner.ts), cdk.json
 * validation (lib/config.ts), the execution-input schema and its JSON Schema
 * (core/execution-input.ts, docs/execution-input.schema.json), handler env parsing
 * (handlers/shared/config.ts, adapters/connection.ts), CLI flags and their --help
 * (bin/commands/*), and the README's settings table. test/unit/settings/*.test.ts fails when any
 * of them, the ASL's defaults and bounds included, disagrees with it.
 *
 * Adding a setting: add one entry here with the places it can be given, then read it where it is
 * used (SETTINGS.x through handlerConfig, readFlags, the construct's resolved values, ...). The
 * drift tests then say what else must follow (`npm run gen:schema` rewrites the JSON Schema and
 * the README table). See docs/architecture.md, "Where a new setting goes".
 */
import { boolean, integer, list, oneOf, text } from './kinds';

/** RDS identifiers: 1-63 letters, digits or hyphens, a letter first, no "--", no trailing hyphen. */
const RDS_PREFIX = /^[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]$/;
const HOUR_MS = 3600 * 1000;

/** `<identifier>-mr`; `mr` when the functions are not told the database (local runs). */
export function defaultSnapshotPrefix(databaseIdentifier: string | undefined): string {
  return databaseIdentifier ? `${databaseIdentifier}-mr` : 'mr';
}

/** `<first 21 characters of the identifier>-pitr`: 26 + "-" + 32 hex + "-1" fits RDS's 63. */
export function defaultRestorePrefix(databaseIdentifier: string | undefined): string {
  return `${(databaseIdentifier ?? 'mr').slice(0, 21).replace(/-+$/, '')}-pitr`;
}

export const SETTINGS = {
  // ------------------------------------------------------------------ database connection
  databaseSecretArn: text({
    doc: 'Secrets Manager ARN of the database secret (RDS JSON or { url }); read at run time, never logged',
    env: 'DB_SECRET_ARN',
  }),
  databaseUrl: text({
    doc: 'PostgreSQL URL instead of a secret (the CLI and local runs; never printed)',
    env: 'DATABASE_URL',
    flag: { name: 'database-url', value: 'URL' },
  }),
  databaseTls: oneOf(['require', 'disable'], {
    doc: 'TLS to the database: always require (verify-full) with a secret; disable only for a local URL (default: disable on loopback)',
    env: 'DB_TLS',
  }),
  databaseCaFile: text({ doc: 'PEM file of a CA to trust instead of the RDS bundle (self-managed PostgreSQL)', env: 'DB_CA_FILE' }),
  databaseHost: text({ doc: 'Host for a secret that holds only username and password (RDS-managed master secret)', env: 'DB_HOST' }),
  databasePort: integer({ doc: 'Port for such a secret', env: 'DB_PORT', default: 5432, min: 1, max: 65535 }),
  databaseName: text({ doc: 'Database name for such a secret', env: 'DB_NAME', default: 'postgres' }),
  connectTimeoutMs: integer({
    doc: 'give up connecting after this long',
    env: 'DB_CONNECT_TIMEOUT_MS',
    flag: { name: 'connect-timeout', value: 'MS' },
    default: 10_000,
    min: 100,
    max: 60_000,
    unit: 'ms',
  }),
  instanceIdentifier: text({
    doc: 'RDS instance the backup and storage checks read (or DB_CLUSTER_IDENTIFIER)',
    env: 'DB_INSTANCE_IDENTIFIER',
  }),
  clusterIdentifier: text({ doc: 'Aurora cluster the backup checks read (or DB_INSTANCE_IDENTIFIER)', env: 'DB_CLUSTER_IDENTIFIER' }),
  migrationsDir: text({
    doc: 'Prisma migrations folder (the construct ships its migrationsDirectory in the bundles and sets this)',
    env: 'MIGRATIONS_DIR',
    flag: { name: 'migrations', value: 'DIR' },
    default: 'prisma/migrations',
  }),

  // ------------------------------------------------------------------ apply
  lockTimeoutMs: integer({
    doc: 'lock_timeout of every migration statement: live traffic waits at most this long behind DDL',
    env: 'LOCK_TIMEOUT_MS',
    input: 'lockTimeoutMs',
    flag: { name: 'lock-timeout', value: 'MS' },
    prop: { name: 'lockTimeout', duration: true },
    context: 'lockTimeoutMs',
    asl: 'LockTimeoutMs',
    default: 3000,
    min: 100,
    max: 60_000,
    unit: 'ms',
  }),
  maxLockRetries: integer({
    doc: 'retries (with backoff) of a statement that hit lock_timeout or a deadlock',
    env: 'MAX_LOCK_RETRIES',
    input: 'maxLockRetries',
    flag: { name: 'max-lock-retries', value: 'N' },
    default: 5,
    min: 0,
    max: 20,
  }),
  statementTimeoutMs: integer({
    doc: 'statement_timeout of transactional migration statements; 0 = none',
    env: 'STATEMENT_TIMEOUT_MS',
    flag: { name: 'statement-timeout', value: 'MS' },
    prop: { name: 'statementTimeout', duration: true },
    context: 'statementTimeoutMs',
    default: 0,
    min: 0,
    max: 24 * HOUR_MS,
    unit: 'ms',
  }),
  concurrentStatementTimeoutMs: integer({
    doc: 'statement_timeout of statements that run alone (CREATE INDEX CONCURRENTLY, VACUUM); 0 = none',
    env: 'CONCURRENT_STATEMENT_TIMEOUT_MS',
    flag: { name: 'concurrent-timeout', value: 'MS' },
    default: 0,
    min: 0,
    max: 24 * HOUR_MS,
    unit: 'ms',
  }),
  advisoryLockTimeoutMs: integer({
    doc: "how long a deploy waits for another deploy's advisory lock before giving up (P1002)",
    env: 'ADVISORY_LOCK_TIMEOUT_MS',
    flag: { name: 'advisory-lock-timeout', value: 'MS' },
    default: 10_000,
    min: 100,
    max: 600_000,
    unit: 'ms',
  }),
  timeMarginMs: integer({
    doc: 'apply does not start a migration with less than this (plus the slowest so far) left in the invocation',
    env: 'TIME_MARGIN_MS',
    default: 60_000,
    min: 1000,
    max: 600_000,
    unit: 'ms',
  }),

  // ------------------------------------------------------------------ preflight
  snapshotPolicy: oneOf(['auto', 'always', 'never'], {
    doc: 'environment snapshot policy: auto = before careful or dangerous migrations (the input may ask for more)',
    env: 'SNAPSHOT_POLICY',
    prop: { name: 'snapshotPolicy' },
    context: 'snapshotPolicy',
    default: 'auto',
  }),
  approvalPolicy: oneOf(['dangerous', 'careful'], {
    doc: "verdicts that must be named in the input's approve list before they run",
    env: 'APPROVAL_POLICY',
    prop: { name: 'approvalPolicy' },
    context: 'approvalPolicy',
    default: 'dangerous',
  }),
  snapshotPrefix: text({
    doc: 'prefix of manual snapshot identifiers (the IAM policy allows only this prefix)',
    env: 'SNAPSHOT_PREFIX',
    prop: { name: 'snapshotPrefix' },
    default: { text: '<database identifier>-mr', from: ({ databaseIdentifier }) => defaultSnapshotPrefix(databaseIdentifier) },
    pattern: RDS_PREFIX,
    maxLength: 200,
    rule: 'must start with a letter, hold letters, digits and single hyphens, and be at most 200 characters',
  }),
  backupCheck: oneOf(['check', 'skip'], {
    doc: 'skip the backup check: local runs with DATABASE_URL only (refused with a secret)',
    env: 'BACKUP_CHECK',
    default: 'check',
  }),
  backupMaxAgeMinutes: integer({
    doc: 'LatestRestorableTime must be at most this old',
    env: 'BACKUP_MAX_AGE_MINUTES',
    default: 15,
    min: 1,
    max: 7 * 24 * 60,
    unit: 'minutes',
  }),
  snapshotMaxAgeHours: integer({
    doc: 'the newest automated snapshot must be at most this old',
    env: 'SNAPSHOT_MAX_AGE_HOURS',
    default: 48,
    min: 1,
    max: 24 * 40,
    unit: 'hours',
  }),
  pgVersion: integer({
    doc: "PostgreSQL version the linter targets: major (16) or server_version_num (160002) (default: the server's)",
    env: 'PG_VERSION',
    min: 9,
    max: 399_999,
  }),
  longTransactionSeconds: integer({
    doc: 'transactions open longer than this make the database unhealthy (DDL would queue behind them)',
    env: 'LONG_TRANSACTION_SECONDS',
    default: 300,
    min: 1,
    max: 86_400,
    unit: 'seconds',
  }),
  maxReplicationLagSeconds: integer({
    doc: 'replica lag above this makes the database unhealthy',
    env: 'MAX_REPLICATION_LAG_SECONDS',
    default: 60,
    min: 1,
    max: 86_400,
    unit: 'seconds',
  }),
  maxConnectionsPercent: integer({
    doc: 'connections above this share of max_connections make the database unhealthy',
    env: 'MAX_CONNECTIONS_PERCENT',
    default: 80,
    min: 1,
    max: 100,
    unit: '%',
  }),

  // ------------------------------------------------------------------ verify and monitoring
  alarmNames: list({
    doc: 'CloudWatch alarms watched after a deploy; one in ALARM fails the execution',
    env: 'ALARM_NAMES',
    prop: { name: 'alarms' },
    context: 'alarmNames',
    default: [],
  }),
  healthUrl: text({
    doc: 'URL that must answer 2xx after a deploy',
    env: 'HEALTH_URL',
    prop: { name: 'healthUrl' },
    context: 'healthUrl',
    pattern: /^https?:\/\/\S+$/,
    rule: 'must be an http(s) URL',
  }),
  healthTimeoutMs: integer({ doc: 'timeout of the health URL request', env: 'HEALTH_TIMEOUT_MS', default: 5000, min: 100, max: 60_000, unit: 'ms' }),
  monitorMinutes: integer({
    doc: 'minutes of post-deploy alarm monitoring; 0 skips it',
    input: 'monitorMinutes',
    prop: { name: 'monitorMinutes' },
    asl: 'MonitorMinutes',
    default: 15,
    min: 0,
    max: 180,
    unit: 'minutes',
  }),

  // ------------------------------------------------------------------ state machine
  onFailure: oneOf(['notify', 'restore'], {
    doc: 'after rollback.sql and the notification, restore also starts a point-in-time restore to a NEW instance',
    prop: { name: 'onFailure' },
    context: 'onFailure',
    asl: 'OnFailure',
    default: 'notify',
  }),
  restorePrefix: text({
    doc: 'prefix of instances and clusters a restore creates (the IAM policy allows only this prefix)',
    prop: { name: 'restorePrefix' },
    asl: 'RestorePrefix',
    default: { text: '<database identifier, first 21 characters>-pitr', from: ({ databaseIdentifier }) => defaultRestorePrefix(databaseIdentifier) },
    pattern: RDS_PREFIX,
    maxLength: 26,
    rule: 'must start with a letter, hold letters, digits and single hyphens, and be at most 26 characters',
  }),
  restoreInstanceClass: text({
    doc: 'instance class of the Aurora instance created in a restored cluster (instance restores keep the source class)',
    prop: { name: 'restoreInstanceClass' },
    asl: 'RestoreInstanceClass',
    default: 'db.r6g.large',
    pattern: /^db\.[a-z0-9]+\.[a-z0-9]+$/,
    rule: 'must be an RDS instance class such as db.r6g.large',
  }),
  maxLoopIterations: integer({
    doc: 'backfill batches one execution runs before it continues in a new one (history limit: 25,000 events)',
    prop: { name: 'maxLoopIterations' },
    asl: 'MaxLoopIterations',
    default: 900,
    min: 1,
    max: 2000,
  }),

  // ------------------------------------------------------------------ per execution
  snapshot: oneOf(['auto', 'always', 'never'], {
    doc: 'take a manual snapshot first: auto = when a pending migration is careful or dangerous (or the environment says always)',
    input: 'snapshot',
    flag: { name: 'snapshot', value: 'MODE' },
    default: 'auto',
  }),
  dryRun: boolean({ doc: 'plan and lint only; nothing is written', input: 'dryRun', flag: { name: 'dry-run' }, default: false }),
} as const;

export type SettingName = keyof typeof SETTINGS;
