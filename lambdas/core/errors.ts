/**
 * Named errors. Each subclass sets `name` to a string literal: Step Functions matches a Lambda
 * error's `errorType` (the `name`) against `ErrorEquals`, so these names are the state machine's
 * contract. `ERROR_NAMES` lists them all; a test checks the ASL uses no other.
 *
 * `code` carries the Prisma error code where Prisma has one (P1002, P3005, ...), so messages read
 * the same as `prisma migrate` for operators who know them.
 */
export abstract class MigrationRunnerError extends Error {
  abstract override readonly name: string;
  /** Prisma-style code, when Prisma has an equivalent error. */
  readonly code?: string;
  /** Small, secret-free facts for the next state (migration, SQLSTATE, blockers...). */
  readonly details?: Record<string, unknown>;

  constructor(message: string, options: { code?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(options.code ? `${options.code}: ${message}` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.details = options.details;
  }
}

/** Input (CLI flags, execution input, a definition file) is malformed; nothing was touched. */
export class InputValidationError extends MigrationRunnerError {
  readonly name = 'InputValidationError';
}
/** The migrations folder or one of its files cannot be read, or is not a Prisma folder. */
export class MigrationFolderError extends MigrationRunnerError {
  readonly name = 'MigrationFolderError';
}
/** migration_lock.toml names another provider (P3019). */
export class ProviderMismatchError extends MigrationRunnerError {
  readonly name = 'ProviderMismatchError';
}
/** A migration folder has no migration.sql (P3015). */
export class MigrationFileMissingError extends MigrationRunnerError {
  readonly name = 'MigrationFileMissingError';
}
/** A migration.sql does not parse; found before anything runs. */
export class SqlSyntaxError extends MigrationRunnerError {
  readonly name = 'SqlSyntaxError';
}
/** The database cannot be reached or refuses the credentials (P1000 / P1001). */
export class DatabaseConnectionError extends MigrationRunnerError {
  readonly name = 'DatabaseConnectionError';
}
/** Another deploy holds the migration advisory lock past the wait (P1002). */
export class AdvisoryLockTimeoutError extends MigrationRunnerError {
  readonly name = 'AdvisoryLockTimeoutError';
}
/** No migrations table and the schema already has tables: baseline first (P3005). */
export class SchemaNotEmptyError extends MigrationRunnerError {
  readonly name = 'SchemaNotEmptyError';
}
/** Failed migrations are recorded; nothing is applied until they are resolved (P3009). */
export class FailedMigrationsError extends MigrationRunnerError {
  readonly name = 'FailedMigrationsError';
}
/** A migration failed to apply (P3018); its row holds the logs. */
export class MigrationFailedError extends MigrationRunnerError {
  readonly name = 'MigrationFailedError';
}
/** A migration kept hitting lock_timeout and ran out of retries; it was recorded as failed. */
export class LockRetriesExhaustedError extends MigrationRunnerError {
  readonly name = 'LockRetriesExhaustedError';
}
/** resolve: the migration folder does not exist locally (P3017). */
export class MigrationNotFoundError extends MigrationRunnerError {
  readonly name = 'MigrationNotFoundError';
}
/** resolve --applied: already recorded as applied (P3008). */
export class MigrationAlreadyAppliedError extends MigrationRunnerError {
  readonly name = 'MigrationAlreadyAppliedError';
}
/** resolve --rolled-back: never applied (P3011). */
export class MigrationNeverAppliedError extends MigrationRunnerError {
  readonly name = 'MigrationNeverAppliedError';
}
/** resolve --rolled-back: not in a failed state (P3012). */
export class MigrationNotFailedError extends MigrationRunnerError {
  readonly name = 'MigrationNotFailedError';
}
/** A dangerous migration is pending and the execution input does not approve it. */
export class DangerousMigrationNotApprovedError extends MigrationRunnerError {
  readonly name = 'DangerousMigrationNotApprovedError';
}
/** Preflight found the database unhealthy (connections, long transactions, lag, storage). */
export class DatabaseUnhealthyError extends MigrationRunnerError {
  readonly name = 'DatabaseUnhealthyError';
}
/** No restorable backup recent enough to undo this deploy. */
export class NoRestorableBackupError extends MigrationRunnerError {
  readonly name = 'NoRestorableBackupError';
}
/** rollback.sql failed or is missing when asked for. */
export class RollbackFailedError extends MigrationRunnerError {
  readonly name = 'RollbackFailedError';
}
/** backfill.json is invalid (unknown key, missing column, bad SQL). */
export class BackfillDefinitionError extends MigrationRunnerError {
  readonly name = 'BackfillDefinitionError';
}
/** Another worker holds the backfill's lease. */
export class BackfillLeaseHeldError extends MigrationRunnerError {
  readonly name = 'BackfillLeaseHeldError';
}
/** The backfill stopped: most recent batches failed, or it was cancelled. */
export class BackfillFailedError extends MigrationRunnerError {
  readonly name = 'BackfillFailedError';
}
/** verify found a problem: pending/failed migrations, INVALID indexes, NOT VALID constraints, verify.sql, health URL. */
export class VerificationFailedError extends MigrationRunnerError {
  readonly name = 'VerificationFailedError';
}

/** Every error name the state machine may match, besides States.* / Lambda.* / Rds.* names. */
export const ERROR_NAMES = [
  'InputValidationError',
  'MigrationFolderError',
  'ProviderMismatchError',
  'MigrationFileMissingError',
  'SqlSyntaxError',
  'DatabaseConnectionError',
  'AdvisoryLockTimeoutError',
  'SchemaNotEmptyError',
  'FailedMigrationsError',
  'MigrationFailedError',
  'LockRetriesExhaustedError',
  'MigrationNotFoundError',
  'MigrationAlreadyAppliedError',
  'MigrationNeverAppliedError',
  'MigrationNotFailedError',
  'DangerousMigrationNotApprovedError',
  'DatabaseUnhealthyError',
  'NoRestorableBackupError',
  'RollbackFailedError',
  'BackfillDefinitionError',
  'BackfillLeaseHeldError',
  'BackfillFailedError',
  'VerificationFailedError',
] as const;
export type ErrorName = (typeof ERROR_NAMES)[number];
