/**
 * `prisma migrate deploy`, made safe for a busy database:
 * 1. take Prisma's advisory lock (72707369) with a bounded wait, naming the holder on timeout (P1002);
 * 2. refuse if failed rows exist (P3009);
 * 3. parse and plan every pending migration before writing anything (syntax errors: file:line);
 * 4. create the table if missing, refusing a non-empty schema (P3005);
 * 5. apply each pending migration with the row lifecycle Prisma writes, under lock_timeout with retries.
 * Hooks let callers stop between migrations (backfill barriers, a Lambda's time budget).
 */
import {
  AdvisoryLockTimeoutError,
  FailedMigrationsError,
  LockRetriesExhaustedError,
  MigrationFailedError,
  SchemaNotEmptyError,
} from '../errors';
import { silentLogger, systemClock, type Clock, type Db, type DbOpener, type Logger } from '../ports';
import { DEFAULT_EXECUTION_SETTINGS, executeUnits, SessionObserver, StatementFailure, type ExecutionEvent, type ExecutionSettings } from './execute';
import type { LocalMigration } from './folder';
import { advisoryLockHolders, describeSession } from './locks';
import { planUnits, type ExecutionUnit } from './plan';
import { loadParser, splitSql } from './sql';
import { computeStatus } from './status';
import {
  ADVISORY_LOCK_KEY,
  CREATE_TABLE_SQL,
  finishedRowSql,
  newMigrationId,
  readRows,
  recordFailure,
  startedRowSql,
  userTables,
  isFailed,
  type MigrationRow,
} from './table';

export type HookDecision = 'continue' | 'stop';

export interface DeployHooks {
  /**
   * Called once the advisory lock is held, failed rows are refused and every pending migration is
   * planned, before anything is written (also when nothing is pending): the place for work that
   * must run under the lock first, such as a backfill barrier an earlier deploy left unfinished.
   * 'stop' ends the deploy with nothing applied.
   */
  afterLock?(context: { readonly pending: readonly string[] }): Promise<HookDecision> | HookDecision;
  /** Called before each pending migration; 'stop' ends the deploy before it (time budget, barrier). */
  beforeMigration?(migration: LocalMigration): Promise<HookDecision> | HookDecision;
  /** Called after each applied migration; 'stop' ends the deploy there (backfill barrier). */
  afterMigration?(migration: LocalMigration): Promise<HookDecision> | HookDecision;
}

export type DeployEvent =
  | { type: 'migration-started'; migration: string; units: number }
  | { type: 'migration-applied'; migration: string; durationMs: number; retries: number }
  | { type: 'migration-failed'; migration: string; sqlState?: string; line?: number }
  | ExecutionEvent;

export interface DeployOptions {
  readonly execution?: Partial<ExecutionSettings>;
  /** How long to wait for another deploy's advisory lock. @default 10000 */
  readonly advisoryLockTimeoutMs?: number;
  readonly hooks?: DeployHooks;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Second session for naming blockers and reporting index progress (recommended). */
  readonly openObserver?: DbOpener;
  readonly onEvent?: (event: DeployEvent) => void;
}

export interface AppliedMigration {
  readonly name: string;
  readonly durationMs: number;
  readonly lockRetries: number;
}

export interface DeployResult {
  readonly applied: AppliedMigration[];
  /** Pending migrations not applied (a hook stopped the deploy). */
  readonly remaining: string[];
  /** Why the deploy stopped early, if it did. */
  readonly stoppedBefore?: string;
  readonly stoppedAfter?: string;
}

interface PlannedMigration {
  readonly migration: LocalMigration;
  readonly units: ExecutionUnit[];
}

/** Server version, for the version-dependent statement classification. */
async function serverVersionNum(db: Db): Promise<number> {
  const { rows } = await db.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  return Number(rows[0].v);
}

/** Parses and plans migrations; throws SqlSyntaxError (file:line) before anything runs. */
export async function planMigrations(migrations: readonly LocalMigration[], versionNum = 170000): Promise<PlannedMigration[]> {
  await loadParser();
  return migrations.map((migration) => ({
    migration,
    units: planUnits(splitSql(migration.sql, { fileName: migration.file, serverVersionNum: versionNum }), migration.file),
  }));
}

export async function withAdvisoryLock<T>(db: Db, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  await db.query(`SET lock_timeout = '${Math.max(1, Math.floor(timeoutMs))}ms'`);
  try {
    await db.query(`SELECT pg_advisory_lock(${ADVISORY_LOCK_KEY})`);
  } catch (error) {
    if ((error as { code?: string }).code !== '55P03') throw error;
    const holders = await advisoryLockHolders(db).catch(() => []);
    throw new AdvisoryLockTimeoutError(
      `Timed out trying to acquire a postgres advisory lock (SELECT pg_advisory_lock(${ADVISORY_LOCK_KEY})). Timeout: ${timeoutMs}ms.` +
        (holders.length > 0 ? ` The lock is held by ${holders.map(describeSession).join('; ')}` : ''),
      { code: 'P1002', details: { holders } },
    );
  } finally {
    await db.query('RESET lock_timeout').catch(() => undefined);
  }
  try {
    return await fn();
  } finally {
    await db.query(`SELECT pg_advisory_unlock(${ADVISORY_LOCK_KEY})`).catch(() => undefined);
  }
}

export function failedMigrationsError(rows: readonly MigrationRow[]): FailedMigrationsError {
  const failed = rows.filter(isFailed);
  const lines = failed.map((r) => `The \`${r.migrationName}\` migration started at ${r.startedAt.toISOString()} failed`);
  return new FailedMigrationsError(
    `migrate found failed migrations in the target database, new migrations will not be applied. Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n${lines.join('\n')}`,
    { code: 'P3009', details: { failed: failed.map((r) => r.migrationName) } },
  );
}

export async function deploy(db: Db, migrations: readonly LocalMigration[], options: DeployOptions = {}): Promise<DeployResult> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const settings: ExecutionSettings = { ...DEFAULT_EXECUTION_SETTINGS, ...options.execution };
  const version = await serverVersionNum(db);
  // Ask PostgreSQL to abort our statement promptly if this process dies, instead of holding its locks
  // until the statement ends (PostgreSQL 14+).
  if (version >= 140000) await db.query(`SET client_connection_check_interval = '1s'`);

  return withAdvisoryLock(db, options.advisoryLockTimeoutMs ?? 10_000, async () => {
    const rows = await readRows(db);
    if (rows && rows.some(isFailed)) throw failedMigrationsError(rows);
    const pendingNames = new Set(computeStatus(migrations, rows).pending);
    const pending = await planMigrations(
      migrations.filter((m) => pendingNames.has(m.name)),
      version,
    );
    if ((await options.hooks?.afterLock?.({ pending: pending.map((p) => p.migration.name) })) === 'stop') {
      return { applied: [], remaining: pending.map((p) => p.migration.name) };
    }
    if (rows === null && pending.length > 0) {
      const tables = await userTables(db);
      if (tables.length > 0) {
        throw new SchemaNotEmptyError(
          `The database schema is not empty (tables: ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', ...' : ''}). Read more about how to baseline an existing production database: https://pris.ly/d/migrate-baseline`,
          { code: 'P3005' },
        );
      }
      await db.query(CREATE_TABLE_SQL);
    }

    const observer = new SessionObserver(options.openObserver, db.pid);
    const applied: AppliedMigration[] = [];
    try {
      for (let i = 0; i < pending.length; i++) {
        const { migration, units } = pending[i];
        const remaining = () => pending.slice(i).map((p) => p.migration.name);
        if ((await options.hooks?.beforeMigration?.(migration)) === 'stop') {
          return { applied, remaining: remaining(), stoppedBefore: migration.name };
        }
        applied.push(await applyOne(db, migration, units, { settings, clock, logger, observer, onEvent: options.onEvent }));
        if ((await options.hooks?.afterMigration?.(migration)) === 'stop') {
          return { applied, remaining: pending.slice(i + 1).map((p) => p.migration.name), stoppedAfter: migration.name };
        }
      }
    } finally {
      await observer.close();
    }
    return { applied, remaining: [] };
  });
}

interface ApplyContext {
  readonly settings: ExecutionSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: SessionObserver;
  readonly onEvent?: (event: DeployEvent) => void;
}

async function applyOne(db: Db, migration: LocalMigration, units: ExecutionUnit[], ctx: ApplyContext): Promise<AppliedMigration> {
  const id = newMigrationId();
  const started = ctx.clock.now();
  ctx.logger.info('applying migration', { migration: migration.name, units: units.length });
  ctx.onEvent?.({ type: 'migration-started', migration: migration.name, units: units.length });
  try {
    const { retries } = await executeUnits(
      db,
      units,
      { settings: ctx.settings, clock: ctx.clock, logger: ctx.logger, onEvent: ctx.onEvent },
      ctx.observer,
      { prelude: startedRowSql(id, migration.checksum, migration.name, started), finish: () => finishedRowSql(id, ctx.clock.now()) },
    );
    const durationMs = ctx.clock.now().getTime() - started.getTime();
    ctx.logger.info('migration applied', { migration: migration.name, durationMs, lockRetries: retries });
    ctx.onEvent?.({ type: 'migration-applied', migration: migration.name, durationMs, retries });
    return { name: migration.name, durationMs, lockRetries: retries };
  } catch (error) {
    if (!(error instanceof StatementFailure)) throw error;
    const logs = failureLogs(migration, error, ctx.settings);
    await recordFailure(db, id, logs);
    ctx.logger.error('migration failed', { migration: migration.name, sqlState: error.dbError.code, line: error.statement?.line });
    ctx.onEvent?.({ type: 'migration-failed', migration: migration.name, sqlState: error.dbError.code, line: error.statement?.line });
    const details = {
      migration: migration.name,
      sqlState: error.dbError.code,
      line: error.statement?.line,
      blockers: error.blockers,
      invalidIndexes: error.invalidIndexes,
    };
    const headline = `Migration \`${migration.name}\` failed to apply. New migrations cannot be applied before the error is recovered from.\n\n${logs}`;
    throw error.lockRetriesExhausted
      ? new LockRetriesExhaustedError(headline, { code: 'P3018', details, cause: error })
      : new MigrationFailedError(headline, { code: 'P3018', details, cause: error });
  }
}

/** The `logs` column of a failed row: name, SQLSTATE, database error, statement line, blockers. */
export function failureLogs(migration: LocalMigration, failure: StatementFailure, settings: ExecutionSettings): string {
  const lines = [`Migration name: ${migration.name}`, ''];
  if (failure.dbError.code) lines.push(`Database error code: ${failure.dbError.code}`, '');
  lines.push('Database error:', `ERROR: ${failure.dbError.message}`);
  if (failure.dbError.detail) lines.push(`DETAIL: ${failure.dbError.detail}`);
  if (failure.dbError.hint) lines.push(`HINT: ${failure.dbError.hint}`);
  lines.push('');
  if (failure.statement) {
    lines.push(`Statement (${migration.file} line ${failure.statement.line}):`, failure.statement.text.slice(0, 2000), '');
  }
  if (failure.lockRetriesExhausted) {
    lines.push(`Lock retries exhausted: lock_timeout (${settings.lockTimeoutMs}ms) was hit ${failure.attempts} times; each attempt was rolled back.`);
  }
  if (failure.blockers.length > 0) lines.push(`Blocked by: ${failure.blockers.map(describeSession).join('; ')}`);
  if (failure.invalidIndexes.length > 0) {
    lines.push(
      `The failed statement left INVALID index(es): ${failure.invalidIndexes.join(', ')}. Drop with DROP INDEX CONCURRENTLY ${failure.invalidIndexes[0]} before retrying.`,
    );
  }
  return lines.join('\n').trimEnd();
}
