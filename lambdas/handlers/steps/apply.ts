/**
 * What the apply Lambda does around the engine: deploy up to the next backfill barrier or until
 * the invocation's time runs short (never starting a migration it may not finish), and the
 * failure branch's rollback.sql. Written against ports only, like core.
 */
import { backfillFor, backfillState } from '../../core/backfill';
import { RESULT_LIMITS, type ApplyDeployResult, type ApplyRollbackResult } from '../../core/contracts';
import { MigrationNeverAppliedError, MigrationNotFoundError, RollbackFailedError } from '../../core/errors';
import { deploy, type DeployEvent } from '../../core/migrations/deploy';
import { DEFAULT_EXECUTION_SETTINGS, executeUnits, SessionObserver, StatementFailure, type ExecutionSettings } from '../../core/migrations/execute';
import type { LocalMigration } from '../../core/migrations/folder';
import { planMigrations, withAdvisoryLock } from '../../core/migrations/deploy';
import { computeStatus } from '../../core/migrations/status';
import { readRows } from '../../core/migrations/table';
import type { Clock, Db, DbOpener, Logger } from '../../core/ports';
import { silentLogger, systemClock } from '../../core/ports';

export interface ApplyStepOptions {
  readonly execution: Partial<ExecutionSettings>;
  /** Milliseconds left in this invocation (context.getRemainingTimeInMillis). */
  readonly remainingMs: () => number;
  /** Do not start a migration with less than this left (plus the slowest one so far). */
  readonly marginMs: number;
  readonly openObserver?: DbOpener;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

interface Barrier {
  readonly migration: string;
  readonly backfill: string;
}

/**
 * An applied migration whose backfill is not done: it must be finished before anything else runs.
 * A backfill that never started counts only at the edge of the applied history (no later migration
 * applied yet): that is a barrier an earlier invocation stopped at; older ones predate the runner.
 */
async function unfinishedBarrier(db: Db, migrations: readonly LocalMigration[], pending: ReadonlySet<string>): Promise<Barrier | undefined> {
  for (let i = 0; i < migrations.length; i++) {
    const migration = migrations[i];
    if (pending.has(migration.name) || migration.backfillJson === undefined) continue;
    const definition = await backfillFor(migration);
    if (!definition) continue;
    const state = await backfillState(db, definition.name);
    const atEdge = migrations.slice(i + 1).every((m) => pending.has(m.name));
    if (state ? state.status !== 'done' : atEdge) return { migration: migration.name, backfill: definition.name };
  }
  return undefined;
}

export async function deployStep(db: Db, migrations: readonly LocalMigration[], options: ApplyStepOptions): Promise<ApplyDeployResult> {
  const logger = options.logger ?? silentLogger;
  const status = computeStatus(migrations, await readRows(db));
  const pending = new Set(status.pending);
  const earlier = await unfinishedBarrier(db, migrations, pending);
  if (earlier) {
    logger.info('backfill barrier not cleared yet', { migration: earlier.migration, backfill: earlier.backfill });
    return { command: 'deploy', status: 'barrier', applied: [], remaining: status.pending.slice(0, RESULT_LIMITS.names), barrier: earlier };
  }
  // Parse every pending backfill.json now: a bad one must stop the deploy before anything is applied.
  const backfills = new Map<string, string>();
  for (const migration of migrations.filter((m) => pending.has(m.name))) {
    const definition = await backfillFor(migration);
    if (definition) backfills.set(migration.name, definition.name);
  }

  let barrier: Barrier | undefined;
  let slowestMs = 0;
  let startedAt = 0;
  const clock = options.clock ?? systemClock;
  const result = await deploy(db, migrations, {
    execution: options.execution,
    clock,
    logger,
    openObserver: options.openObserver,
    onEvent: (event: DeployEvent) => {
      if (event.type === 'index-progress') {
        logger.info('index build progress', {
          line: event.statement.line,
          phase: event.phase,
          blocksDone: event.blocksDone,
          blocksTotal: event.blocksTotal,
          tuplesDone: event.tuplesDone,
          tuplesTotal: event.tuplesTotal,
        });
      }
    },
    hooks: {
      beforeMigration: (migration) => {
        const left = options.remainingMs();
        if (left < options.marginMs + slowestMs) {
          logger.info('stopping before the next migration: not enough time left in this invocation', { migration: migration.name, remainingMs: left, slowestMs });
          return 'stop';
        }
        startedAt = clock.now().getTime();
        return 'continue';
      },
      afterMigration: async (migration) => {
        slowestMs = Math.max(slowestMs, clock.now().getTime() - startedAt);
        const backfill = backfills.get(migration.name);
        if (backfill === undefined) return 'continue';
        const state = await backfillState(db, backfill);
        if (state?.status === 'done') return 'continue';
        barrier = { migration: migration.name, backfill };
        logger.info('backfill barrier reached', { migration: migration.name, backfill });
        return 'stop';
      },
    },
  });
  return {
    command: 'deploy',
    status: barrier ? 'barrier' : result.stoppedBefore ? 'time' : 'done',
    applied: result.applied.map((a) => a.name).slice(0, RESULT_LIMITS.names),
    remaining: result.remaining.slice(0, RESULT_LIMITS.names),
    ...(barrier ? { barrier } : {}),
  };
}

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
