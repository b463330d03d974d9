/**
 * The functions' settings, read from their environment with the settings table
 * (lambdas/core/settings: names, defaults, bounds). Read per invocation (cheap) so a bad value
 * fails the invocation with a message naming the variable, before any connection is opened.
 */
import { InputValidationError } from '../../core/errors';
import { defaultSnapshotPrefix, readEnv, SETTINGS, type Setting } from '../../core/settings';

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
  /** 0 = no statement_timeout. */
  readonly statementTimeoutMs: number;
  /** statement_timeout of statements that run alone (CONCURRENTLY index builds can take long); 0 = none. */
  readonly concurrentStatementTimeoutMs: number;
  readonly advisoryLockTimeoutMs: number;
  readonly longTransactionSeconds: number;
  readonly maxReplicationLagSeconds: number;
  readonly maxConnectionsPercent: number;
  /** apply/backfill stop when less than this remains of the invocation. */
  readonly timeMarginMs: number;
}

export function handlerConfig(env: NodeJS.ProcessEnv = process.env): HandlerConfig {
  const read = <S extends Setting>(setting: S) => readEnv(setting, env);
  const instanceIdentifier = read(SETTINGS.instanceIdentifier);
  const clusterIdentifier = read(SETTINGS.clusterIdentifier);
  if (instanceIdentifier && clusterIdentifier) throw new InputValidationError('set DB_INSTANCE_IDENTIFIER or DB_CLUSTER_IDENTIFIER, not both');
  const backupCheck = read(SETTINGS.backupCheck);
  // Fail closed: skipping the backup check is for local runs against a plain DATABASE_URL only.
  if (backupCheck === 'skip' && env.DB_SECRET_ARN) throw new InputValidationError('BACKUP_CHECK=skip is only allowed for local runs (DATABASE_URL), not with DB_SECRET_ARN');
  return {
    migrationsDir: read(SETTINGS.migrationsDir),
    instanceIdentifier,
    clusterIdentifier,
    backupCheck,
    backupMaxAgeMinutes: read(SETTINGS.backupMaxAgeMinutes),
    snapshotMaxAgeHours: read(SETTINGS.snapshotMaxAgeHours),
    snapshotPolicy: read(SETTINGS.snapshotPolicy),
    approvalPolicy: read(SETTINGS.approvalPolicy),
    // The construct's default too: one prefix, whoever leaves it unset.
    snapshotPrefix: readEnv(SETTINGS.snapshotPrefix, env, defaultSnapshotPrefix(clusterIdentifier ?? instanceIdentifier)),
    pgVersion: read(SETTINGS.pgVersion),
    alarmNames: read(SETTINGS.alarmNames),
    healthUrl: read(SETTINGS.healthUrl),
    healthTimeoutMs: read(SETTINGS.healthTimeoutMs),
    lockTimeoutMs: read(SETTINGS.lockTimeoutMs),
    maxLockRetries: read(SETTINGS.maxLockRetries),
    statementTimeoutMs: read(SETTINGS.statementTimeoutMs),
    concurrentStatementTimeoutMs: read(SETTINGS.concurrentStatementTimeoutMs),
    advisoryLockTimeoutMs: read(SETTINGS.advisoryLockTimeoutMs),
    longTransactionSeconds: read(SETTINGS.longTransactionSeconds),
    maxReplicationLagSeconds: read(SETTINGS.maxReplicationLagSeconds),
    maxConnectionsPercent: read(SETTINGS.maxConnectionsPercent),
    timeMarginMs: read(SETTINGS.timeMarginMs),
  };
}
