/**
 * Runs a planned file on one session with lock safety:
 * - every unit runs under lock_timeout, so live traffic queued behind our DDL waits at most that long;
 * - a unit that hits lock_timeout (55P03) or a deadlock (40P01) has been rolled back by PostgreSQL and is
 *   retried after an exponential backoff with jitter, up to maxLockRetries times;
 * - while a unit waits, a second session (opened lazily, only if a wait lasts) records who blocks it,
 *   and reports CREATE INDEX CONCURRENTLY progress;
 * - a failed CREATE INDEX CONCURRENTLY is reported with the INVALID index it left; before a retry after
 *   a lock timeout, that INVALID leftover (never a valid index) is dropped so the retry can build it.
 * Also used for rollback.sql, so a rollback follows the same policy.
 */
import type { Clock, DbOpener, Db, Logger, OwnedDb } from '../ports';
import { asDbError, type DbErrorLike } from '../ports';
import { quoteLiteral, quoteQualified } from '../quote';
import { blockersOf, type BlockingSession } from './locks';
import type { ExecutionUnit } from './plan';
import type { SqlStatement } from './sql';

export interface ExecutionSettings {
  /** lock_timeout for every statement we run. @default 3000 */
  readonly lockTimeoutMs: number;
  /** statement_timeout for transactional units; 0 = off. @default 0 */
  readonly statementTimeoutMs: number;
  /** statement_timeout for statements that run alone (CONCURRENTLY, VACUUM...); 0 = off. @default 0 */
  readonly concurrentStatementTimeoutMs: number;
  /** Retries of a unit after lock_timeout or deadlock. @default 5 */
  readonly maxLockRetries: number;
  /** First backoff; doubles per retry, with jitter, capped by retryMaxMs. @default 250 */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How often CREATE INDEX CONCURRENTLY progress is reported. @default 5000 */
  readonly progressIntervalMs: number;
}

export const DEFAULT_EXECUTION_SETTINGS: ExecutionSettings = {
  lockTimeoutMs: 3000,
  statementTimeoutMs: 0,
  concurrentStatementTimeoutMs: 0,
  maxLockRetries: 5,
  retryBaseMs: 250,
  retryMaxMs: 10_000,
  progressIntervalMs: 5000,
};

export type ExecutionEvent =
  | { type: 'lock-retry'; statement: StatementRef; attempt: number; waitMs: number; blockers: BlockingSession[] }
  | { type: 'index-progress'; statement: StatementRef; phase: string; blocksDone: number; blocksTotal: number; tuplesDone: number; tuplesTotal: number }
  | { type: 'invalid-index-dropped'; statement: StatementRef; index: string };

export interface StatementRef {
  readonly line: number;
  readonly text: string;
}

export interface ExecutionContext {
  readonly settings: ExecutionSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onEvent?: (event: ExecutionEvent) => void;
}

/** A statement failed (after retries, for lock timeouts). The unit it belonged to was rolled back. */
export class StatementFailure extends Error {
  constructor(
    readonly statement: SqlStatement | undefined,
    readonly dbError: DbErrorLike,
    readonly attempts: number,
    readonly lockRetriesExhausted: boolean,
    readonly blockers: BlockingSession[],
    readonly invalidIndexes: string[],
  ) {
    super(dbError.message);
  }
}

const RETRYABLE = new Set(['55P03', '40P01']);

function ms(value: number): string {
  return `'${Math.max(0, Math.floor(value))}ms'`;
}

function ref(statement: SqlStatement): StatementRef {
  return { line: statement.line, text: statement.text.length > 200 ? `${statement.text.slice(0, 200)}...` : statement.text };
}

/** Watches the working session from a second one, opened only when a wait actually lasts. */
export class SessionObserver {
  private session?: Promise<OwnedDb>;

  constructor(
    private readonly open: DbOpener | undefined,
    private readonly pid: number,
  ) {}

  get available(): boolean {
    return this.open !== undefined;
  }

  private db(): Promise<OwnedDb> {
    if (!this.open) throw new Error('no observer');
    this.session ??= this.open();
    return this.session;
  }

  async blockers(): Promise<BlockingSession[]> {
    return this.open ? blockersOf(await this.db(), this.pid) : [];
  }

  async indexProgress(): Promise<Record<string, unknown> | undefined> {
    if (!this.open) return undefined;
    const { rows } = await (await this.db()).query(
      `SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total FROM pg_catalog.pg_stat_progress_create_index WHERE pid = $1`,
      [this.pid],
    );
    return rows[0];
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session) await (await session.catch(() => undefined))?.close();
  }
}

/** SQL run around the units of one migration: its row bookkeeping. */
export interface UnitBookkeeping {
  /** Run once before the first unit (the "started" row); sent in the same round trip when possible. */
  readonly prelude?: string;
  /** Builds the success update; run inside the last unit when that unit is a transaction that commits. */
  readonly finish?: () => string;
}

type UnitFailure = { statement?: SqlStatement; error: DbErrorLike };

/**
 * Runs the units in order. The success update commits together with the last unit when that unit is
 * a committing transaction, so a schema change is never committed without its bookkeeping; otherwise
 * it runs on its own after the last unit. A transaction unit is sent as one simple query (one round
 * trip) with an INFO marker before each statement, so a failure still names its statement.
 */
export async function executeUnits(
  db: Db,
  units: readonly ExecutionUnit[],
  ctx: ExecutionContext,
  observer: SessionObserver,
  bookkeeping: UnitBookkeeping = {},
): Promise<{ retries: number }> {
  const { settings } = ctx;
  // Session defaults for this file; transaction units narrow them with SET LOCAL.
  const session = `SET lock_timeout = ${ms(settings.lockTimeoutMs)}; SET statement_timeout = ${ms(settings.statementTimeoutMs)}`;
  const state = { prelude: [session, bookkeeping.prelude].filter(Boolean).join(';\n') as string | undefined };
  let retries = 0;
  const last = units[units.length - 1];
  const finishInside = bookkeeping.finish !== undefined && last?.kind === 'transaction' && !/^\s*(ROLLBACK|ABORT)/i.test(last.end?.text ?? '');
  for (const unit of units) {
    const finish = finishInside && unit === last ? bookkeeping.finish : undefined;
    retries += await runWithRetries(db, unit, ctx, observer, state, finish);
  }
  const tail = [state.prelude, bookkeeping.finish && !finishInside ? bookkeeping.finish() : undefined].filter(Boolean);
  if (tail.length > 0) await db.query(tail.join(';\n'));
  return { retries };
}

async function runWithRetries(
  db: Db,
  unit: ExecutionUnit,
  ctx: ExecutionContext,
  observer: SessionObserver,
  state: { prelude?: string },
  finishSql?: () => string,
): Promise<number> {
  const { settings, clock, logger } = ctx;
  for (let attempt = 0; ; attempt++) {
    const watch = watchUnit(unit, ctx, observer);
    let failed: UnitFailure | undefined;
    try {
      // A retried CREATE INDEX CONCURRENTLY first drops the INVALID index its last attempt left; that
      // drop waits for the same transactions, so it is part of the attempt (and may time out too).
      if (attempt > 0) failed = await dropInvalidLeftover(db, unit, ctx);
      failed ??= await runUnit(db, unit, ctx.settings, state, finishSql);
    } finally {
      await watch.stop();
    }
    if (!failed) return attempt;
    const retryable = RETRYABLE.has(failed.error.code ?? '');
    const blockers = watch.blockers.length > 0 ? watch.blockers : await observer.blockers().catch(() => []);
    const cic = concurrentIndex(unit);
    if (retryable && attempt < settings.maxLockRetries) {
      const cap = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** attempt);
      const waitMs = Math.round(cap / 2 + (Math.random() * cap) / 2);
      const statement = failed.statement ?? firstStatement(unit);
      logger.warn('lock timeout: the statement was rolled back and will be retried', {
        line: statement.line,
        attempt: attempt + 1,
        of: settings.maxLockRetries,
        waitMs,
        sqlState: failed.error.code,
        blockers,
      });
      ctx.onEvent?.({ type: 'lock-retry', statement: ref(statement), attempt: attempt + 1, waitMs, blockers });
      await clock.sleep(waitMs);
      continue;
    }
    const leftovers = cic ? await invalidIndexes(db, cic, false).catch(() => []) : [];
    throw new StatementFailure(failed.statement, failed.error, attempt + 1, retryable, blockers, leftovers);
  }
}

/** Runs one unit; returns the failure instead of throwing, after rolling the unit back. */
async function runUnit(
  db: Db,
  unit: ExecutionUnit,
  settings: ExecutionSettings,
  state: { prelude?: string },
  finishSql?: () => string,
): Promise<UnitFailure | undefined> {
  if (unit.kind === 'autocommit') {
    // A statement that cannot run in a transaction cannot share a simple query with anything else.
    if (state.prelude) await db.query(state.prelude);
    state.prelude = undefined;
    const concurrentTimeout = settings.concurrentStatementTimeoutMs !== settings.statementTimeoutMs;
    try {
      if (concurrentTimeout) await db.query(`SET statement_timeout = ${ms(settings.concurrentStatementTimeoutMs)}`);
      await db.query(unit.statement.text);
      return undefined;
    } catch (error) {
      return { statement: unit.statement, error: asDbError(error) };
    } finally {
      if (concurrentTimeout) await db.query(`SET statement_timeout = ${ms(settings.statementTimeoutMs)}`).catch(() => undefined);
    }
  }
  const begin = `${unit.begin?.text ?? 'BEGIN'};\nSET LOCAL lock_timeout = ${ms(settings.lockTimeoutMs)};\nSET LOCAL statement_timeout = ${ms(settings.statementTimeoutMs)}`;
  return db.onNotice ? runScript(db, unit, begin, state, finishSql) : runStepwise(db, unit, begin, state, finishSql);
}

const MARKER = 'migration-runner statement ';
const marker = (i: number) => `DO $mr$BEGIN RAISE INFO '${MARKER}${i}'; END$mr$`;

/**
 * The whole transaction in one simple query. INFO messages reach the client whatever
 * client_min_messages says, and arrive before the error, so the last marker seen names the statement
 * that failed. Markers stand only where they tell something apart (each costs a DO block): after the
 * bookkeeping prelude, and between statements; a failure after the last statement (the success update
 * or a deferred constraint at COMMIT) is attributed to the last statement. Statements are joined with
 * a newline before the semicolon, so a trailing line comment cannot swallow it.
 */
async function runScript(db: Db, unit: Extract<ExecutionUnit, { kind: 'transaction' }>, begin: string, state: { prelude?: string }, finishSql?: () => string): Promise<UnitFailure | undefined> {
  const parts: string[] = [];
  const hadPrelude = state.prelude !== undefined;
  if (state.prelude) parts.push(state.prelude, marker(0));
  parts.push(begin);
  unit.statements.forEach((statement, i) => {
    if (i > 0) parts.push(marker(i));
    parts.push(statement.text);
  });
  if (finishSql) parts.push(finishSql());
  parts.push(unit.end?.text ?? 'COMMIT');
  let seen: number | undefined;
  const unsubscribe = (db.onNotice as NonNullable<Db['onNotice']>)((message) => {
    if (message.startsWith(MARKER)) seen = Number(message.slice(MARKER.length));
  });
  try {
    await db.query(parts.join('\n;\n'));
    state.prelude = undefined;
    return undefined;
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined);
    if (hadPrelude && seen === undefined) throw error; // the bookkeeping itself failed: nothing ran
    state.prelude = undefined;
    const statement = unit.statements[Math.min(seen ?? 0, unit.statements.length - 1)] ?? unit.end ?? unit.begin;
    return { statement, error: asDbError(error) };
  } finally {
    unsubscribe();
  }
}

/** Statement by statement, for sessions that cannot report notices. */
async function runStepwise(db: Db, unit: Extract<ExecutionUnit, { kind: 'transaction' }>, begin: string, state: { prelude?: string }, finishSql?: () => string): Promise<UnitFailure | undefined> {
  if (state.prelude) await db.query(state.prelude);
  state.prelude = undefined;
  let current: SqlStatement | undefined = unit.begin;
  try {
    await db.query(begin);
    for (const statement of unit.statements) {
      current = statement;
      await db.query(statement.text);
    }
    current = unit.end;
    if (finishSql) await db.query(finishSql());
    await db.query(unit.end?.text ?? 'COMMIT');
    return undefined;
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined);
    return { statement: current, error: asDbError(error) };
  }
}

async function dropInvalidLeftover(db: Db, unit: ExecutionUnit, ctx: ExecutionContext): Promise<UnitFailure | undefined> {
  const cic = concurrentIndex(unit);
  if (!cic || unit.kind !== 'autocommit') return undefined;
  try {
    for (const index of await invalidIndexes(db, cic, true)) {
      await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index}`);
      ctx.onEvent?.({ type: 'invalid-index-dropped', statement: ref(unit.statement), index });
    }
    return undefined;
  } catch (error) {
    return { statement: unit.statement, error: asDbError(error) };
  }
}

function firstStatement(unit: ExecutionUnit): SqlStatement {
  return unit.kind === 'autocommit' ? unit.statement : (unit.statements[0] ?? (unit.begin as SqlStatement));
}

interface IndexTarget {
  readonly name?: string;
  readonly schema?: string;
  readonly table: string;
}

function concurrentIndex(unit: ExecutionUnit): IndexTarget | undefined {
  if (unit.kind !== 'autocommit' || unit.statement.nodeType !== 'IndexStmt' || !unit.statement.node.concurrent) return undefined;
  const node = unit.statement.node as { idxname?: string; relation?: { relname: string; schemaname?: string } };
  if (!node.relation) return undefined;
  return { name: node.idxname, schema: node.relation.schemaname, table: node.relation.relname };
}

/** INVALID indexes left by a CREATE INDEX CONCURRENTLY: by name, or (unnamed) on its table. */
async function invalidIndexes(db: Db, target: IndexTarget, namedOnly: boolean): Promise<string[]> {
  if (namedOnly && !target.name) return [];
  const schema = target.schema ? quoteLiteral(target.schema) : 'current_schema()';
  const { rows } = await db.query<{ nspname: string; relname: string }>(
    `SELECT n.nspname, c.relname FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
       JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid AND n.nspname = ${schema} AND t.relname = $1 AND ($2::text IS NULL OR c.relname = $2)`,
    [target.table, target.name ?? null],
  );
  return rows.map((r) => quoteQualified(r.nspname, r.relname));
}

interface UnitWatch {
  readonly blockers: BlockingSession[];
  stop(): Promise<void>;
}

/** Samples blockers once the unit has waited half its lock_timeout; polls CIC progress. */
function watchUnit(unit: ExecutionUnit, ctx: ExecutionContext, observer: SessionObserver): UnitWatch {
  const watch = { blockers: [] as BlockingSession[] };
  if (!observer.available) return { ...watch, stop: async () => undefined };
  const pending: Promise<unknown>[] = [];
  const sample = () => {
    pending.push(
      observer
        .blockers()
        .then((found) => {
          if (found.length > 0) watch.blockers = found;
        })
        .catch(() => undefined),
    );
  };
  const firstSample = setTimeout(sample, Math.max(50, Math.min(ctx.settings.lockTimeoutMs / 2, 1000)));
  const cic = concurrentIndex(unit);
  const progress = cic
    ? setInterval(() => {
        pending.push(
          observer
            .indexProgress()
            .then((row) => {
              if (!row || unit.kind !== 'autocommit') return;
              const event = {
                type: 'index-progress' as const,
                statement: ref(unit.statement),
                phase: String(row.phase),
                blocksDone: Number(row.blocks_done),
                blocksTotal: Number(row.blocks_total),
                tuplesDone: Number(row.tuples_done),
                tuplesTotal: Number(row.tuples_total),
              };
              ctx.logger.info('CREATE INDEX CONCURRENTLY progress', { ...event });
              ctx.onEvent?.(event);
              if (row.phase === 'waiting for old snapshots' || String(row.phase).startsWith('waiting')) sample();
            })
            .catch(() => undefined),
        );
      }, ctx.settings.progressIntervalMs)
    : undefined;
  return {
    get blockers() {
      return watch.blockers;
    },
    async stop() {
      clearTimeout(firstSample);
      if (progress) clearInterval(progress);
      await Promise.all(pending);
    },
  };
}
