/**
 * The failure branch's rollback.sql (apply Lambda, command "rollback"): run under the migration
 * lock with the same execution policy as a migration, then mark the migration rolled back.
 */
import type { ApplyRollbackResult } from '../contracts';
import { MigrationNeverAppliedError, MigrationNotFoundError, RollbackFailedError } from '../errors';
import { planMigrations, withAdvisoryLock } from '../migrations/deploy';
import { DEFAULT_EXECUTION_SETTINGS, executeUnits, SessionObserver, StatementFailure, type ExecutionSettings } from '../migrations/execute';
import type { LocalMigration } from '../migrations/folder';
import { readRows } from '../migrations/table';
import type { Clock, Db, DbOpener, Logger } from '../ports';
import { silentLogger, systemClock } from '../ports';

export interface RollbackStepOptions {
  readonly execution: Partial<ExecutionSettings>;
  readonly openObserver?: DbOpener;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** @default 10000 */
  readonly advisoryLockTimeoutMs?: number;
}

/**
 * Runs `rollback.sql` of a migration under the migration lock, with the same execution policy
 * as a migration (one transaction unless it holds non-transactional statements, lock_timeout
 * with retries), then marks the migration's rows rolled back so status shows it pending again.
 */
export async function rollbackStep(db: Db, migrations: readonly LocalMigration[], name: string, options: RollbackStepOptions): Promise<ApplyRollbackResult> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const migration = migrations.find((m) => m.name === name);
  if (!migration) throw new MigrationNotFoundError(`The migration ${name} could not be found locally.`, { code: 'P3017' });
  if (migration.rollbackSql === undefined) {
    throw new RollbackFailedError(`${name} has no rollback.sql: roll back by hand or restore the pre-migration point in time`, { details: { migration: name } });
  }
  const { rows: version } = await db.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  const [planned] = await planMigrations([{ ...migration, sql: migration.rollbackSql, file: `${name}/rollback.sql` }], Number(version[0].v));
  return withAdvisoryLock(db, options.advisoryLockTimeoutMs ?? 10_000, async () => {
    const rows = (await readRows(db)) ?? [];
    if (!rows.some((r) => r.migrationName === name && r.rolledBackAt === null)) {
      throw new MigrationNeverAppliedError(`Migration \`${name}\` has no active row: it was never applied or is already rolled back; rollback.sql not run.`, { code: 'P3011' });
    }
    const observer = new SessionObserver(options.openObserver, db.pid);
    logger.info('running rollback.sql', { migration: name, units: planned.units.length });
    try {
      await executeUnits(db, planned.units, { settings: { ...DEFAULT_EXECUTION_SETTINGS, ...options.execution }, clock, logger }, observer);
    } catch (error) {
      if (!(error instanceof StatementFailure)) throw error;
      throw new RollbackFailedError(
        `rollback.sql of ${name} failed at line ${error.statement?.line ?? '?'}: ${error.dbError.code ?? ''} ${error.dbError.message}`.replace(/\s+/g, ' '),
        { details: { migration: name, sqlState: error.dbError.code, line: error.statement?.line, blockers: error.blockers }, cause: error },
      );
    } finally {
      await observer.close();
    }
    // Finished rows too: after rollback.sql the schema no longer holds the change, so it is pending again.
    const { rowCount } = await db.query(
      `UPDATE "_prisma_migrations" SET "rolled_back_at" = $1 WHERE "migration_name" = $2 AND "rolled_back_at" IS NULL`,
      [clock.now(), name],
    );
    logger.info('rollback.sql applied; migration marked rolled back', { migration: name, rows: rowCount });
    return { command: 'rollback', migration: name, rowsMarkedRolledBack: rowCount };
  });
}
