/**
 * The functions' settings, read from their environment (names and meanings: HANDLER_ENV in
 * core/contracts.ts). Read per invocation (cheap) so a bad value fails the invocation with a
 * message naming the variable, before any connection is opened.
 */
import { InputValidationError } from '../../core/errors';

export interface HandlerConfig {
  readonly migrationsDir: string;
  readonly instanceIdentifier?: string;
  readonly clusterIdentifier?: string;
  readonly backupCheck: 'check' | 'skip';
  readonly backupMaxAgeMinutes: number;
  readonly snapshotMaxAgeHours: number;
  readonly snapshotPolicy: 'auto' | 'always' | 'never';
  /** Which verdicts must be named in the input's `approve`: dangerous only, or careful too. */
  readonly approvalPolicy: 'dangerous' | 'careful';
  readonly snapshotPrefix: string;
  readonly pgVersion?: number;
  readonly alarmNames: string[];
  readonly healthUrl?: string;
  readonly healthTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly maxLockRetries: number;
  /** 0 = no statement_timeout (CONCURRENTLY index builds can take long). */
  readonly statementTimeoutMs: number;
  readonly longTransactionSeconds: number;
  readonly maxReplicationLagSeconds: number;
  readonly maxConnectionsPercent: number;
  /** apply/backfill stop when less than this remains of the invocation. */
  readonly timeMarginMs: number;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new InputValidationError(`${name} must be an integer between ${min} and ${max}`);
  return value;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new InputValidationError(`${name} must be one of ${values.join(', ')}`);
  return raw as T;
}

export function handlerConfig(env: NodeJS.ProcessEnv = process.env): HandlerConfig {
  const instanceIdentifier = env.DB_INSTANCE_IDENTIFIER?.trim() || undefined;
  const clusterIdentifier = env.DB_CLUSTER_IDENTIFIER?.trim() || undefined;
  if (instanceIdentifier && clusterIdentifier) throw new InputValidationError('set DB_INSTANCE_IDENTIFIER or DB_CLUSTER_IDENTIFIER, not both');
  const backupCheck = oneOf(env, 'BACKUP_CHECK', ['check', 'skip'] as const, 'check');
  // Fail closed: skipping the backup check is for local runs against a plain DATABASE_URL only.
  if (backupCheck === 'skip' && env.DB_SECRET_ARN) throw new InputValidationError('BACKUP_CHECK=skip is only allowed for local runs (DATABASE_URL), not with DB_SECRET_ARN');
  const healthUrl = env.HEALTH_URL?.trim() || undefined;
  if (healthUrl && !/^https?:\/\//.test(healthUrl)) throw new InputValidationError('HEALTH_URL must be an http(s) URL');
  const pgVersion = env.PG_VERSION?.trim() ? integer(env, 'PG_VERSION', 16, 9, 199999) : undefined;
  return {
    migrationsDir: env.MIGRATIONS_DIR?.trim() || 'prisma/migrations',
    instanceIdentifier,
    clusterIdentifier,
    backupCheck,
    backupMaxAgeMinutes: integer(env, 'BACKUP_MAX_AGE_MINUTES', 15, 1, 7 * 24 * 60),
    snapshotMaxAgeHours: integer(env, 'SNAPSHOT_MAX_AGE_HOURS', 48, 1, 24 * 40),
    snapshotPolicy: oneOf(env, 'SNAPSHOT_POLICY', ['auto', 'always', 'never'] as const, 'auto'),
    approvalPolicy: oneOf(env, 'APPROVAL_POLICY', ['dangerous', 'careful'] as const, 'dangerous'),
    snapshotPrefix: env.SNAPSHOT_PREFIX?.trim() || 'mr',
    pgVersion,
    alarmNames: (env.ALARM_NAMES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    healthUrl,
    healthTimeoutMs: integer(env, 'HEALTH_TIMEOUT_MS', 5000, 100, 60_000),
    lockTimeoutMs: integer(env, 'LOCK_TIMEOUT_MS', 3000, 100, 60_000),
    maxLockRetries: integer(env, 'MAX_LOCK_RETRIES', 5, 0, 50),
    statementTimeoutMs: integer(env, 'STATEMENT_TIMEOUT_MS', 0, 0, 24 * 3600 * 1000),
    longTransactionSeconds: integer(env, 'LONG_TRANSACTION_SECONDS', 300, 1, 86_400),
    maxReplicationLagSeconds: integer(env, 'MAX_REPLICATION_LAG_SECONDS', 60, 1, 86_400),
    maxConnectionsPercent: integer(env, 'MAX_CONNECTIONS_PERCENT', 80, 1, 100),
    timeMarginMs: integer(env, 'TIME_MARGIN_MS', 60_000, 1000, 600_000),
  };
}
