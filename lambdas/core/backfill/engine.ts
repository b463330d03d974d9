/**
 * The backfill engine: walks the key range in batches sized by time, one statement per batch that
 * updates rows and advances the cursor together, under a lease, with health holds returned as
 * `waitSeconds`. One call works until its deadline (or a hold, pause or the end) and returns; the
 * caller (Lambda + Step Functions Wait, or the CLI loop) calls again.
 *
 * Phases: main (frozen bounds) -> retry (ranges set aside after 3 failures) -> verify (the whole
 * key range again, up to the current largest key, so rows inserted meanwhile are covered; it
 * changes only rows that still match `where`) -> done.
 */
import { createHash, randomUUID } from 'node:crypto';
import { BackfillDefinitionError, BackfillFailedError, BackfillLeaseHeldError } from '../errors';
import type { Clock, Db, DbOpener, Logger, OwnedDb } from '../ports';
import { asDbError, silentLogger, systemClock } from '../ports';
import { afterSuccess, afterTimeout, dutySleepMs, grownSize, lockTimeoutsIn, mostRecentFailed, pushOutcome, type ControllerState, type Outcome } from './controller';
import { resolveBackfill, type BackfillDefinition, type ResolvedBackfill } from './definition';
import { evaluateHealth, pgHealthProbe, type Hold, type HealthProbe } from './health';
import { backfillState, ensureStateTable, readState, STATE_SQL, type BackfillPhase, type BackfillState, type PartState, type SetAsideRange } from './state';
import { BLOCKS_SQL, batchSql, boundsSql, cursorAssignment, histogramKeysSql, keyOf, nextKeysetBoundSql, sampleKeysSql } from './statements';

/** Seconds a paused backfill asks its caller to wait before looking again. */
export const PAUSED_POLL_SECONDS = 30;
/** Failures of one range before it is set aside (main phase) or the backfill fails (retry phase). */
export const RANGE_ATTEMPTS = 3;

export interface BatchEvent {
  /** 'parallel': how many partitions walk at once changed (`parallel` then says how many and why). */
  readonly type: 'batch' | 'timeout' | 'set-aside' | 'phase' | 'parallel';
  readonly phase: BackfillPhase;
  /** Key range (from, to] of the batch; from null = from the first key. */
  readonly from?: string[] | null;
  readonly to?: string[];
  readonly batchSize?: number;
  readonly nextBatchSize?: number;
  readonly units?: number;
  readonly changed?: number;
  readonly elapsedMs?: number;
  /** For timeouts: SQLSTATE 57014 (statement_timeout) or 55P03 (lock_timeout). */
  readonly outcome?: Outcome;
  readonly message?: string;
  /** The backfill state after this event when it is cheap to know (batch events). */
  readonly batches?: number;
  /** Which partition walked it: 0 for the first (or only) one. */
  readonly lane?: number;
  readonly parallel?: Parallelism;
}

/** Where the cut points of parallel partitions came from. */
export type CutSource = 'statistics' | 'sample' | 'value-ranges';

/** Partitions asked for (backfill.json `parallel`) against those walking at once, and why they differ. */
export interface Parallelism {
  readonly requested: number;
  readonly running: number;
  /** Why fewer run than requested; absent when all requested run (or 1 was requested). */
  readonly reason?: string;
  /** Where the split's cut points came from, once the range is split. */
  readonly cutsFrom?: CutSource;
}

/** `parallel: requested 3, running 1, because ...`: the line progress output prints. */
export function describeParallelism(p: Parallelism): string {
  return `parallel: requested ${p.requested}, running ${p.running}${p.reason ? `, because ${p.reason}` : ''}${p.cutsFrom ? ` (cut points from ${p.cutsFrom})` : ''}`;
}

export interface RunOptions {
  /** Absolute time (epoch ms) by which the call must have returned, e.g. Date.now() + remaining Lambda time. */
  readonly deadlineMs?: number;
  /** Safety margin kept before the deadline, besides twice the slowest recent batch. @default 1000 */
  readonly marginMs?: number;
  /** Lease owner id; a random one per call by default. */
  readonly owner?: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Health probe; the SQL probe on this session by default. */
  readonly health?: HealthProbe;
  /** Called after each batch, timeout, set-aside and phase change (progress bars, logs). */
  readonly onEvent?: (event: BatchEvent) => void | Promise<void>;
  /**
   * Opens another session to the same database, for the definition's `parallel` partitions
   * (closed before the call returns). Without it every partition is walked by this session.
   */
  readonly openSession?: DbOpener;
}

interface Step {
  readonly kind: 'batch';
  /** Range (from, to] in the walk's units, as stored in the cursor; from null = from the start. */
  readonly from: string[] | null;
  readonly to: string[];
  readonly units: number;
  /** Bind values of the range predicate. */
  readonly params: string[];
}

export type RunStatus = 'running' | 'holding' | 'paused' | 'done';

export interface BackfillResult {
  readonly name: string;
  /** running: call again at once; holding / paused: call again after waitSeconds; done: finished and verified. */
  readonly status: RunStatus;
  readonly phase: BackfillPhase;
  readonly cursor: string[] | null;
  /** Rows changed so far (all calls). */
  readonly rowsDone: number;
  /** Rows in the table when the backfill started (planner estimate). */
  readonly rowsEstimate: number;
  /** Rows walked per second during this call. */
  readonly ratePerSec: number;
  /** Estimated seconds left in the current phase; null when unknown. */
  readonly etaSeconds: number | null;
  /** Seconds to wait before the next call (0 = call again now). */
  readonly waitSeconds: number;
  /** Fraction of the current phase's key range walked. */
  readonly progress: number;
  readonly holdReason?: string;
  readonly batches: number;
  /** Partitions requested and walking at once in this call, and why fewer when they are. */
  readonly parallel: Parallelism;
}

/** Checksum of what the backfill does; tuning knobs may change between calls, this may not. */
export function definitionChecksum(definition: BackfillDefinition): string {
  const essence = { schema: definition.schema ?? null, table: definition.table, key: definition.key, set: definition.set, where: definition.where };
  return createHash('sha256').update(JSON.stringify(essence)).digest('hex');
}

const RETRYABLE = new Set(['57014', '55P03', '40P01', '40001']);

/**
 * Runs (a slice of) the backfill. Validates the definition against the database before touching
 * any row (BackfillDefinitionError), takes the lease (BackfillLeaseHeldError), throws
 * BackfillFailedError when the backfill failed or was cancelled.
 */
export async function runBackfill(db: Db, definition: BackfillDefinition | ResolvedBackfill, options: RunOptions = {}): Promise<BackfillResult> {
  const resolved = 'keyColumns' in definition ? definition : await resolveBackfill(db, definition);
  const run = new Run(db, resolved, options);
  return run.execute();
}

/**
 * One walker of a key range: lane 0 walks the current phase's range by the state row's cursor;
 * lanes k >= 1 walk partition parts[k - 1] of the main phase by its own cursor.
 */
interface Lane {
  readonly index: number;
  db: Db;
  controller: ControllerState;
  failuresAtCursor: number;
  /** Partitions only (lane 0 reads its range and cursor from the state row). */
  readonly part?: PartState;
  cursor: string[] | null;
}

/** Why walking stopped before the range was walked. */
type Stop = { kind: 'time' } | { kind: 'hold'; hold: Hold } | { kind: 'lost' } | { kind: 'error' } | { kind: 'calibrated' };

/** Batches after which the first lane counts as calibrated even if its size still grows freely. */
const CALIBRATION_BATCHES = 30;

/** Smallest remaining table (planner estimate) worth splitting into parallel partitions. */
export const MIN_PARALLEL_ROWS = 100_000;
/** statement_timeout of a walking session's statements other than batches (see configure). */
const AUX_STATEMENT_TIMEOUT_MS = 30_000;
/** How long a write to the state row outside a batch may wait for the row (another lane's commit). */
const STATE_LOCK_TIMEOUT_MS = 10_000;
/** Keys sampled to place the cut points of parallel partitions. */
const SAMPLE_ROWS = 20_000;

class Run {
  private readonly def: BackfillDefinition;
  private readonly owner: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly probe: HealthProbe;
  private readonly startedAt: number;
  private readonly lane0: Lane;
  private readonly sessions: OwnedDb[] = [];
  private window: Outcome[] = [];
  private recentMs: number[] = [];
  private unitsThisRun = 0;
  private changedThisRun = 0;
  private lastHealthAt = -Infinity;
  private pendingActiveMs = 0;
  private startProgress = 0;
  /** Lanes walking at once right now (active time is wall time: each lane adds its share). */
  private workers = 1;
  private stop: Stop | undefined;
  /** The health probe uses the caller's session: only its walker samples, or anyone once it is idle. */
  private primaryIdle = false;
  /**
   * Before splitting for `parallel`, the first lane walks alone until its batch size is set by the
   * target rather than by the growth limit; the partitions then start at that size instead of each
   * growing from the initial size again.
   */
  private calibrating = false;
  private splitTried = false;
  private parallelism: Parallelism;

  constructor(
    private readonly db: Db,
    private readonly resolved: ResolvedBackfill,
    private readonly options: RunOptions,
  ) {
    this.def = resolved.definition;
    this.owner = options.owner ?? `worker-${randomUUID()}`;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.probe = options.health ?? pgHealthProbe(db, resolved.relationOid);
    this.startedAt = this.clock.now().getTime();
    this.lane0 = { index: 0, db, controller: { batchSize: 0 }, failuresAtCursor: 0, cursor: null };
    this.parallelism = { requested: this.def.parallel, running: 1 };
  }

  async execute(): Promise<BackfillResult> {
    await ensureStateTable(this.db);
    let state = await this.initialise();
    const early = this.earlyReturn(state);
    if (early) return early;
    const leased = await this.acquireLease();
    if (!('leaseOwner' in leased)) return leased;
    state = leased;
    this.startProgress = state.progress;
    this.lane0.controller = this.initialController(state);
    const saved = await this.db.query<{ st: string; lt: string; sc: string }>(
      `SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt, current_setting('synchronous_commit') AS sc`,
    );
    await this.configure(this.db);
    try {
      return await this.loop(state);
    } finally {
      const { st, lt, sc } = saved.rows[0];
      await this.db
        .query(`SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false), set_config('synchronous_commit', $3, false)`, [st, lt, sc])
        .catch(() => undefined);
      await this.releaseLease().catch(() => undefined);
      await Promise.all(this.sessions.map((session) => session.close().catch(() => undefined)));
    }
  }

  /**
   * Settings of a walking session. synchronous_commit off: a batch does not wait for its WAL
   * flush. Safe here because data and cursor commit together: a crash can only lose whole
   * trailing batches, which the guard replays. The batch cap (statementTimeoutMs) is set on each
   * batch's transaction only: the reads between batches (the next key bound, health, bounds) are
   * not retried like a batch, and on a loaded server one may outlast a cap meant for a batch.
   */
  private async configure(db: Db): Promise<void> {
    await db.query(`SET statement_timeout = ${AUX_STATEMENT_TIMEOUT_MS}; SET lock_timeout = ${Math.floor(this.def.lockTimeoutMs)}; SET synchronous_commit = off`);
  }

  private initialController(state: BackfillState): ControllerState {
    return { batchSize: Math.max(this.def.minBatchSize, Math.min(this.def.maxBatchSize, state.batchSize)), ...(state.msPerUnit === null ? {} : { msPerUnit: state.msPerUnit }) };
  }
  /** Creates the state row with frozen bounds on the first call; checks the definition did not change since. */
  private async initialise(): Promise<BackfillState> {
    const checksum = definitionChecksum(this.def);
    const existing = await backfillState(this.db, this.def.name);
    if (existing) {
      if (existing.checksum !== checksum && existing.status !== 'done') {
        throw new BackfillDefinitionError(
          `backfill "${this.def.name}" was started with a different table, key, set or where; cancel it and use a new name to change what it does`,
          { details: { field: 'set' } },
        );
      }
      return existing;
    }
    const lower = await this.db.query<Record<string, string>>(boundsSql(this.resolved, 'ASC'));
    const upper = await this.db.query<Record<string, string>>(boundsSql(this.resolved, 'DESC'));
    const estimate = await this.db.query<{ 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM ${this.resolved.tableSql}`);
    const rowsEstimate = Math.round(estimate.rows[0]?.['QUERY PLAN']?.[0]?.Plan?.['Plan Rows'] ?? 0);
    const toKey = (row: Record<string, string> | undefined) => (row ? Object.values(row).map(String) : null);
    let lowerBound = toKey(lower.rows[0]);
    // Integer ranges walk (lower, upper]: start one below the smallest key.
    if (this.resolved.strategy === 'range' && lowerBound) lowerBound = [(BigInt(lowerBound[0]) - 1n).toString()];
    if (this.resolved.strategy === 'keyset') lowerBound = null;
    await this.db.query(
      `INSERT INTO ${STATE_SQL} (name, table_name, definition, checksum, status, strategy, lower_bound, upper_bound, batch_size, rows_estimate)
       VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING`,
      [this.def.name, this.resolved.tableSql, JSON.stringify(this.def), checksum, this.resolved.strategy, lowerBound, toKey(upper.rows[0]), this.def.initialBatchSize, rowsEstimate],
    );
    const created = await backfillState(this.db, this.def.name);
    if (!created) throw new BackfillFailedError(`backfill "${this.def.name}": its state row could not be created`);
    this.logger.info('backfill started', { backfill: this.def.name, strategy: this.resolved.strategy, rowsEstimate });
    return created;
  }

  private earlyReturn(state: BackfillState): BackfillResult | undefined {
    switch (state.status) {
      case 'done':
        return this.result(state, 'done', 0);
      case 'failed':
        throw new BackfillFailedError(`backfill "${state.name}" failed: ${state.lastError ?? 'unknown error'}; fix the cause and resume it`, { details: { backfill: state.name } });
      case 'cancelled':
        throw new BackfillFailedError(`backfill "${state.name}" was cancelled; resume it to continue`, { details: { backfill: state.name, cancelled: true } });
      case 'paused':
        return this.result(state, 'paused', PAUSED_POLL_SECONDS);
      case 'holding': {
        const left = state.holdUntil ? (state.holdUntil.getTime() - this.clock.now().getTime()) / 1000 : 0;
        return left > 0 ? this.result(state, 'holding', Math.ceil(left), state.holdReason ?? undefined) : undefined;
      }
      default:
        return undefined;
    }
  }

  /**
   * Takes the lease when it is free, ours, expired, or its owner's session is gone (a killed
   * worker's connection ends with it, so a restart does not wait for the expiry).
   */
  private async acquireLease(): Promise<BackfillState | BackfillResult> {
    const { rowCount } = await this.db.query(
      `UPDATE ${STATE_SQL} SET lease_owner = $2, lease_pid = pg_backend_pid(), lease_expires_at = now() + make_interval(secs => $3::float8),
              status = 'running', hold_reason = NULL, hold_until = NULL, updated_at = now()
        WHERE name = $1 AND status IN ('running', 'holding')
          AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires_at < now()
               OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = lease_pid))`,
      [this.def.name, this.owner, this.def.leaseSeconds],
    );
    const now = await this.reload();
    if (rowCount > 0) return now;
    // Paused, cancelled or done in the meantime: answer as if we had read that first.
    const early = now.status === 'running' || now.status === 'holding' ? undefined : this.earlyReturn(now);
    if (early) return early;
    throw new BackfillLeaseHeldError(
      `backfill "${this.def.name}" is being run by another worker (${now.leaseOwner ?? 'unknown'}) until ${now.leaseExpiresAt?.toISOString() ?? 'unknown'}`,
      { details: { backfill: this.def.name, owner: now.leaseOwner } },
    );
  }

  private async releaseLease(): Promise<void> {
    await this.db.query(`UPDATE ${STATE_SQL} SET lease_owner = NULL, lease_pid = NULL, lease_expires_at = NULL, active_ms = active_ms + $3::float8 WHERE name = $1 AND lease_owner = $2`, [
      this.def.name,
      this.owner,
      this.pendingActiveMs,
    ]);
    this.pendingActiveMs = 0;
  }

  private async loop(initial: BackfillState): Promise<BackfillResult> {
    let state = initial;
    for (;;) {
      this.calibrating = false;
      if (this.def.parallel > 1 && !(state.phase === 'main' && state.walk === 'keys')) {
        await this.setParallelism({ running: 1, reason: `the ${state.phase} phase walks on one session` }, state.phase);
      } else if (this.def.parallel > 1 && !state.parts?.length) {
        if (!this.options.openSession) await this.setParallelism({ running: 1, reason: 'the caller gave no way to open more sessions (openSession)' });
        else if (this.splitTried) {
          // Tried in this call and not split: the reason is already recorded.
        } else if (this.lane0.controller.msPerUnit === undefined) {
          this.calibrating = true;
          await this.setParallelism({ running: 1, reason: 'the first lane is still calibrating its batch size before the split' });
        } else {
          this.splitTried = true;
          state = await this.partition(state);
        }
      }
      const walked = await this.walk(state);
      if ('calibrated' in walked) {
        state = walked.calibrated;
        continue;
      }
      if ('stop' in walked) return walked.stop;
      state = await this.transition(walked.state, this.phaseAfter(walked.state));
      if (state.status === 'done') return this.result(state, 'done', 0);
    }
  }

  /**
   * Walks the current phase's range: one lane, or (main phase, split) every unfinished partition,
   * up to `parallel` at once on sessions of their own. Returns the state once the range is walked,
   * or the result to return when walking stopped (deadline, hold, pause, lease lost).
   */
  private async walk(state: BackfillState): Promise<{ stop: BackfillResult } | { state: BackfillState } | { calibrated: BackfillState }> {
    this.stop = undefined;
    const parts = state.phase === 'main' && state.walk === 'keys' ? (state.parts ?? []) : [];
    if (parts.length === 0) {
      this.workers = 1;
      this.primaryIdle = false;
      try {
        const walked = await this.walkLane(state, this.lane0);
        if (walked) return { state: walked };
      } catch (error) {
        this.stop = { kind: 'error' };
        throw error;
      }
      if ((this.stop as Stop | undefined)?.kind === 'calibrated') return { calibrated: await this.reload() };
      return { stop: await this.stopped() };
    }
    // Each partition starts where the first lane's controller is (calibrated, or read from the state row).
    const lanes: Lane[] = [this.lane0, ...parts.map((part, i) => ({ index: i + 1, db: this.db, controller: { ...this.lane0.controller }, failuresAtCursor: 0, part, cursor: part.cursor }))];
    const queue = [...lanes];
    const wanted = Math.min(this.def.parallel, lanes.length);
    const opened = await this.openSessions(wanted - 1);
    const sessions = [this.db, ...opened.sessions];
    this.workers = sessions.length;
    await this.setParallelism({
      running: sessions.length,
      ...(sessions.length < wanted
        ? { reason: opened.error ?? 'the caller gave no way to open more sessions (openSession)' }
        : lanes.length < this.def.parallel
          ? { reason: `the range split into only ${lanes.length} partitions (too few distinct cut points)` }
          : {}),
    });
    this.primaryIdle = false;
    if (sessions.length > 1) this.logger.info('backfill walking partitions', { backfill: this.def.name, partitions: lanes.length, sessions: sessions.length });
    const settled = await Promise.allSettled(
      sessions.map(async (db) => {
        try {
          for (let lane = queue.shift(); lane && !this.stop; lane = queue.shift()) {
            lane.db = db;
            const walked = await this.walkLane(lane.index === 0 ? state : await this.reload(db), lane);
            if (!walked) return;
          }
        } catch (error) {
          this.stop = { kind: 'error' };
          throw error;
        } finally {
          if (db === this.db) this.primaryIdle = true;
          this.workers = Math.max(1, this.workers - 1);
        }
      }),
    );
    this.lane0.db = this.db;
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    if (this.stop) return { stop: await this.stopped() };
    return { state: await this.reload() };
  }

  /** The result for the reason walking stopped. */
  private async stopped(): Promise<BackfillResult> {
    const stop = this.stop;
    if (stop?.kind === 'hold') return this.hold(stop.hold);
    const now = await this.reload();
    if (stop?.kind === 'lost') {
      const early = this.earlyReturn(now);
      if (early) return early;
      throw new BackfillLeaseHeldError(`backfill "${this.def.name}": the lease was taken over by ${now.leaseOwner ?? 'another worker'}`);
    }
    return this.result(now, 'running', 0);
  }

  /** Walks one lane to the end of its range (returns the state then), or until a stop (returns undefined). */
  private async walkLane(initial: BackfillState, lane: Lane): Promise<BackfillState | undefined> {
    let state = initial;
    for (;;) {
      if (this.stop) return undefined;
      if (this.outOfTime()) {
        this.stop = { kind: 'time' };
        return undefined;
      }
      if (lane.db === this.db || this.primaryIdle) {
        const hold = await this.healthHold();
        if (hold) {
          this.stop = { kind: 'hold', hold };
          return undefined;
        }
      }
      const step = await this.nextStep(state, lane);
      if (step.kind === 'walked') return state;
      const sizeBefore = lane.controller.batchSize;
      const outcome = await this.runBatch(state, lane, step);
      if (outcome === 'lost') {
        this.stop = { kind: 'lost' };
        return undefined;
      }
      if (outcome === 'retry') {
        // A set-aside range moved the cursor: lane 0 reads it back; a partition lane keeps its own.
        if (lane.index === 0) state = await this.reload(lane.db);
        continue;
      }
      lane.cursor = step.to;
      if (this.calibrating && lane.index === 0) {
        // Calibrated once the target, not the growth limit, set the next size.
        const limitedByTarget = lane.controller.batchSize < Math.floor(grownSize(sizeBefore)) && lane.controller.batchSize < this.def.maxBatchSize;
        if (limitedByTarget || state.batches + 1 >= CALIBRATION_BATCHES) this.stop = { kind: 'calibrated' };
      }
      if (lane.index === 0) {
        state = {
          ...state,
          cursor: step.to,
          batches: state.batches + 1,
          rowsDone: state.rowsDone + outcome.changed,
          rowsScanned: state.rowsScanned + step.units,
          rowsStillMatching: outcome.left,
        };
      }
    }
  }

  /** Up to `count` more sessions, configured for batches; fewer (with why) if they cannot be opened. */
  private async openSessions(count: number): Promise<{ sessions: Db[]; error?: string }> {
    const open = this.options.openSession;
    let failure: string | undefined;
    for (let i = this.sessions.length; open && i < count; i++) {
      try {
        const session = await open();
        this.sessions.push(session);
        await this.configure(session);
      } catch (error) {
        failure = `another session could not be opened: ${asDbError(error).message}`;
        break;
      }
    }
    const sessions = this.sessions.slice(0, count);
    return failure && sessions.length < count ? { sessions, error: failure } : { sessions };
  }

  /** Records how many partitions walk at once and why; says so (event, log) when it changes. */
  private async setParallelism(next: Omit<Parallelism, 'requested'>, phase: BackfillPhase = 'main'): Promise<void> {
    const previous = this.parallelism;
    const cutsFrom = next.cutsFrom ?? previous.cutsFrom;
    this.parallelism = { requested: this.def.parallel, running: next.running, ...(next.reason ? { reason: next.reason } : {}), ...(cutsFrom ? { cutsFrom } : {}) };
    if (previous.running === next.running && previous.reason === next.reason && previous.cutsFrom === cutsFrom) return;
    const line = describeParallelism(this.parallelism);
    // Progress output (the event) and the result say it; the log line is for debugging only.
    this.logger.debug(`backfill ${line}`, { backfill: this.def.name });
    await this.emit({ type: 'parallel', phase, message: line, parallel: this.parallelism });
  }

  /**
   * Splits what is left of the main phase's range into `parallel` partitions with about as many
   * rows each (see cutCandidates for where the cut points come from). Small tables are not split.
   * When no split can be had, records why: the result and the progress output say so.
   */
  private async partition(state: BackfillState): Promise<BackfillState> {
    const n = this.def.parallel;
    const upper = state.upperBound;
    const left = Math.round(state.rowsEstimate * (1 - state.progress));
    if (!upper || left < MIN_PARALLEL_ROWS) {
      await this.setParallelism({ running: 1, reason: `about ${left} rows are left, fewer than the ${MIN_PARALLEL_ROWS} worth splitting` });
      return state;
    }
    const from = state.cursor ?? (this.resolved.strategy === 'range' ? state.lowerBound : null);
    const candidates = await this.cutCandidates(state, from, upper);
    if ('reason' in candidates) {
      await this.setParallelism({ running: 1, reason: candidates.reason });
      return state;
    }
    const { keys } = candidates;
    const cuts: string[][] = [];
    for (let i = 1; i < n; i++) {
      const cut = keys[Math.floor((i * keys.length) / n)];
      if (cuts.length === 0 || cut.join('\u0000') !== cuts[cuts.length - 1].join('\u0000')) cuts.push(cut);
    }
    const parts: PartState[] = cuts.map((cut, i) => ({ from: cut, to: cuts[i + 1] ?? upper, cursor: null }));
    await this.writeState(this.db, `UPDATE ${STATE_SQL} SET parts = $3::jsonb, updated_at = now() WHERE name = $1 AND lease_owner = $2`, [this.def.name, this.owner, JSON.stringify(parts)]);
    this.parallelism = { ...this.parallelism, cutsFrom: candidates.source };
    this.logger.info('backfill split into partitions', { backfill: this.def.name, partitions: parts.length + 1, cutsFrom: candidates.source });
    await this.emit({ type: 'phase', phase: 'main', message: `split into ${parts.length + 1} partitions (cut points from ${candidates.source})` });
    return this.reload();
  }

  /**
   * Keys in (from, upper], in key order, to cut the range at. In order of cost:
   * 1. the key column's histogram bounds in pg_stats (one key column, analyzed): a catalog read,
   *    no table scan, and equi-depth, so the partitions come out even;
   * 2. a TABLESAMPLE SYSTEM read of about SAMPLE_ROWS keys (pages picked at random);
   * 3. for integer keys walked by value, equal value ranges (no read at all).
   * Reads run under backfill.json's sampleTimeoutMs, not the batch cap.
   */
  private async cutCandidates(state: BackfillState, from: string[] | null, upper: string[]): Promise<{ keys: string[][]; source: CutSource } | { reason: string }> {
    const n = this.def.parallel;
    const tried: string[] = [];
    if (this.resolved.keyColumns.length === 1) {
      try {
        const rows = await this.readForSplit(histogramKeysSql(this.resolved, from !== null), [this.resolved.relationOid, this.resolved.keyColumns[0].name, ...(from ?? []), ...upper]);
        if (rows.length >= n) return { keys: rows.map((row) => keyOf(this.resolved, row)), source: 'statistics' };
        tried.push(rows.length ? `the key's histogram has only ${rows.length} bounds in the range left` : 'the key column has no histogram in pg_stats (ANALYZE the table)');
      } catch (error) {
        tried.push(`reading pg_stats failed: ${this.splitError(error)}`);
      }
    } else tried.push('a key of several columns has no histogram of its own');
    const percent = Math.min(100, (100 * SAMPLE_ROWS) / Math.max(1, state.rowsEstimate));
    try {
      const rows = await this.readForSplit(sampleKeysSql(this.resolved, from !== null), [...(from ?? []), ...upper, percent]);
      if (rows.length >= n * 10) return { keys: rows.map((row) => keyOf(this.resolved, row)), source: 'sample' };
      tried.push(`the sample held only ${rows.length} keys in the range left`);
    } catch (error) {
      tried.push(`sampling keys failed: ${this.splitError(error)}`);
    }
    if (this.resolved.strategy === 'range' && from) {
      const lo = BigInt(from[0]);
      const span = BigInt(upper[0]) - lo;
      if (span >= BigInt(n)) return { keys: Array.from({ length: n }, (_, i) => [(lo + (span * BigInt(i)) / BigInt(n)).toString()]), source: 'value-ranges' };
    }
    return { reason: tried.join('; ') };
  }

  private splitError(error: unknown): string {
    const e = asDbError(error);
    return `${e.message}${e.code === '57014' ? ` (sampleTimeoutMs ${this.def.sampleTimeoutMs})` : ''}`;
  }

  /**
   * A write to the state row outside a batch. It may wait for the row behind another lane's batch
   * commit (a machine under load can stall one past the batch lock_timeout and statement cap) but
   * not forever: the state row is ours, so no live traffic queues behind this wait.
   */
  private async writeState(db: Db, sql: string, params: unknown[]): Promise<void> {
    await db.query(`BEGIN; SET LOCAL lock_timeout = ${STATE_LOCK_TIMEOUT_MS}; SET LOCAL statement_timeout = ${2 * STATE_LOCK_TIMEOUT_MS}`);
    try {
      await db.query(sql, params);
      await db.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** A read that chooses cut points: in its own transaction under sampleTimeoutMs. */
  private async readForSplit(sql: string, params: unknown[]): Promise<Record<string, string>[]> {
    await this.db.query(`BEGIN; SET LOCAL statement_timeout = ${Math.floor(this.def.sampleTimeoutMs)}`);
    try {
      const { rows } = await this.db.query<Record<string, string>>(sql, params);
      await this.db.query('COMMIT');
      return rows;
    } catch (error) {
      await this.db.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  private outOfTime(): boolean {
    if (this.options.deadlineMs === undefined) return false;
    const slowest = this.recentMs.length ? Math.max(...this.recentMs) : this.def.targetBatchMs;
    const margin = this.options.marginMs ?? 1000;
    return this.clock.now().getTime() + 2 * slowest + margin > this.options.deadlineMs;
  }

  private async healthHold(): Promise<Hold | undefined> {
    const limits = this.def.health;
    if (lockTimeoutsIn(this.window) >= limits.maxLockTimeouts) {
      this.window = [];
      return { reason: `${limits.maxLockTimeouts} of the last batches waited past lock_timeout`, waitSeconds: limits.holdSeconds };
    }
    const now = this.clock.now().getTime();
    if (now - this.lastHealthAt < limits.checkIntervalMs) return undefined;
    this.lastHealthAt = now;
    return evaluateHealth(await this.probe.sample(), limits);
  }

  private async hold(hold: Hold): Promise<BackfillResult> {
    await this.writeState(
      this.db,
      `UPDATE ${STATE_SQL} SET status = 'holding', hold_reason = $3, hold_until = now() + make_interval(secs => $4::float8), updated_at = now()
        WHERE name = $1 AND lease_owner = $2 AND status = 'running'`,
      [this.def.name, this.owner, hold.reason, hold.waitSeconds],
    );
    this.logger.warn('backfill holding', { backfill: this.def.name, reason: hold.reason, waitSeconds: hold.waitSeconds });
    return this.result(await this.reload(), 'holding', hold.waitSeconds, hold.reason);
  }

  /** The next range of this lane, or 'walked' when its range is walked. */
  private async nextStep(state: BackfillState, lane: Lane): Promise<Step | { kind: 'walked' }> {
    const walked = { kind: 'walked' as const };
    const size = lane.controller.batchSize;
    if (lane.index === 0 && state.walk === 'blocks') {
      const lo = BigInt((state.cursor ?? state.lowerBound ?? ['0'])[0]);
      let hi = BigInt((state.upperBound ?? ['0'])[0]);
      if (lo >= hi) {
        // Pages added while verifying (inserts) are verified too before the backfill is done.
        const now = await this.blocks();
        if (now <= lo) return walked;
        await this.writeState(this.db, `UPDATE ${STATE_SQL} SET upper_bound = $3 WHERE name = $1 AND lease_owner = $2`, [this.def.name, this.owner, [now.toString()]]);
        hi = now;
      }
      const to = lo + BigInt(size) < hi ? lo + BigInt(size) : hi;
      return { kind: 'batch', from: [lo.toString()], to: [to.toString()], units: Number(to - lo), params: [`(${lo},0)`, `(${to},0)`] };
    }
    const range = lane.part ? { lower: lane.part.from, upper: lane.part.to } : this.phaseRange(state);
    if (!range.upper) return walked;
    const from = (lane.part ? lane.cursor : state.cursor) ?? range.lower;
    if (this.resolved.strategy === 'range') {
      const lo = BigInt((from ?? range.lower ?? range.upper)[0]);
      const hi = BigInt(range.upper[0]);
      if (lo >= hi) return walked;
      const to = lo + BigInt(size) < hi ? lo + BigInt(size) : hi;
      return { kind: 'batch', from: [lo.toString()], to: [to.toString()], units: Number(to - lo), params: [lo.toString(), to.toString()] };
    }
    const bound = [...(from ?? []), ...range.upper, size];
    const { rows } = await lane.db.query<Record<string, string | number>>(nextKeysetBoundSql(this.resolved, from !== null), bound);
    const row = rows[0];
    if (!row) return walked;
    const count = Number(row.mr_count);
    const to = keyOf(this.resolved, row);
    return { kind: 'batch', from, to, units: count, params: [...(from ?? []), ...to] };
  }

  private async blocks(): Promise<bigint> {
    const { rows } = await this.db.query<{ blocks: string }>(BLOCKS_SQL, [this.resolved.relationOid]);
    return BigInt(rows[0]?.blocks ?? '0');
  }

  /** Size limits in the current walk's units: rows / key values, or heap blocks. */
  private limits(state: BackfillState) {
    const cap = { targetBatchMs: this.def.targetBatchMs, capMs: this.def.statementTimeoutMs };
    return state.walk === 'blocks' ? { ...cap, minBatchSize: 1, maxBatchSize: 10_000_000 } : { ...cap, minBatchSize: this.def.minBatchSize, maxBatchSize: this.def.maxBatchSize };
  }

  /** (lower, upper] of lane 0 in the current phase (in a split main phase: up to the first partition). */
  private phaseRange(state: BackfillState): { lower: string[] | null; upper: string[] | null } {
    if (state.phase === 'retry') {
      const range = state.setAside[0];
      return range ? { lower: range.from, upper: range.to } : { lower: null, upper: null };
    }
    const firstPart = state.phase === 'main' && state.walk === 'keys' ? state.parts?.[0] : undefined;
    return { lower: state.lowerBound, upper: firstPart ? firstPart.from : state.upperBound };
  }
  private phaseAfter(state: BackfillState): BackfillPhase | 'done' {
    if (state.phase === 'main') return state.setAside.length ? 'retry' : 'verify';
    if (state.phase === 'retry') return state.setAside.length > 1 ? 'retry' : 'verify';
    return 'done';
  }

  private async transition(state: BackfillState, to: BackfillPhase | 'done'): Promise<BackfillState> {
    const lease = [this.def.name, this.owner];
    if (to === 'retry') {
      // Entering retry, or one set-aside range finished: drop the finished one (not on entry).
      const drop = state.phase === 'retry' ? 1 : 0;
      await this.writeState(
        this.db,
        `UPDATE ${STATE_SQL} SET phase = 'retry', cursor = NULL, set_aside = CASE WHEN $3 = 1 THEN set_aside - 0 ELSE set_aside END, updated_at = now()
          WHERE name = $1 AND lease_owner = $2`,
        [...lease, drop],
      );
      this.lane0.failuresAtCursor = 0;
    } else if (to === 'verify') {
      if (this.resolved.relationKind === 'r') {
        // Verify a plain table by heap block ranges up to its size now (rows inserted meanwhile
        // included), starting with about as many rows per batch as the main phase ended with.
        const blocks = await this.blocks();
        const perBlock = blocks > 0n ? Math.max(1, state.rowsEstimate / Number(blocks)) : 1;
        this.lane0.controller = { batchSize: Math.max(1, Math.ceil(this.lane0.controller.batchSize / perBlock)) };
        await this.writeState(
          this.db,
          `UPDATE ${STATE_SQL} SET phase = 'verify', walk = 'blocks', cursor = NULL, set_aside = '[]', lower_bound = '{0}', upper_bound = $3,
                  batch_size = $4, ms_per_unit = NULL, rows_scanned = 0, updated_at = now()
            WHERE name = $1 AND lease_owner = $2`,
          [...lease, [blocks.toString()], this.lane0.controller.batchSize],
        );
        this.lane0.failuresAtCursor = 0;
        await this.emit({ type: 'phase', phase: 'verify', message: 'verify' });
        return this.reload();
      }
      // Partitioned: walk the keys up to the largest key now, so rows inserted above the frozen bound are covered.
      // Verify walks up to the largest key now, so rows inserted above the frozen bound are covered.
      const lower = await this.db.query<Record<string, string>>(boundsSql(this.resolved, 'ASC'));
      const upper = await this.db.query<Record<string, string>>(boundsSql(this.resolved, 'DESC'));
      const key = (row: Record<string, string> | undefined) => (row ? Object.values(row).map(String) : null);
      let lowerBound = this.resolved.strategy === 'range' ? state.lowerBound : null;
      const min = key(lower.rows[0]);
      if (this.resolved.strategy === 'range' && min && (!lowerBound || BigInt(min[0]) - 1n < BigInt(lowerBound[0]))) lowerBound = [(BigInt(min[0]) - 1n).toString()];
      let upperBound = key(upper.rows[0]);
      if (this.resolved.strategy === 'range' && upperBound && state.upperBound && BigInt(upperBound[0]) < BigInt(state.upperBound[0])) upperBound = state.upperBound;
      await this.writeState(
        this.db,
        `UPDATE ${STATE_SQL} SET phase = 'verify', cursor = NULL, set_aside = '[]', lower_bound = $3, upper_bound = $4, rows_scanned = 0, updated_at = now()
          WHERE name = $1 AND lease_owner = $2`,
        [...lease, lowerBound, upperBound],
      );
      this.lane0.failuresAtCursor = 0;
    } else if (to === 'done') {
      if (state.rowsStillMatching > 0) {
        await this.fail(`verify: ${state.rowsStillMatching} rows still match \`where\`: \`set\` does not finish them`);
      }
      await this.writeState(
        this.db,
        `UPDATE ${STATE_SQL} SET status = 'done', finished_at = now(), hold_reason = NULL, updated_at = now() WHERE name = $1 AND lease_owner = $2`,
        lease,
      );
      this.logger.info('backfill done', { backfill: this.def.name, rowsDone: state.rowsDone });
    }
    await this.emit({ type: 'phase', phase: to === 'done' ? state.phase : to, message: to });
    return this.reload();
  }

  /**
   * Runs one batch in its own transaction. Returns its counts, 'retry' after a timeout (the range is
   * tried again smaller, or set aside), or 'lost' when the state row no longer lets this worker run.
   */
  private async runBatch(state: BackfillState, lane: Lane, step: Step): Promise<{ changed: number; left: number } | 'retry' | 'lost'> {
    const { from, to, units } = step;
    const { sql } = batchSql(this.resolved, from !== null, state.phase === 'verify', state.walk, lane.index);
    const size = lane.controller.batchSize;
    const active = this.pendingActiveMs;
    this.pendingActiveMs = 0;
    const started = performance.now();
    let rows: { changed: number; still: number; left: number }[];
    try {
      await lane.db.query(`BEGIN; SET LOCAL statement_timeout = ${Math.floor(this.def.statementTimeoutMs)}`);
      const result = await lane.db.query<{ changed: number; still: number; left: number }>(sql, [
        this.def.name,
        this.owner,
        ...step.params,
        to,
        units,
        size,
        lane.controller.msPerUnit ?? null,
        active,
        this.def.leaseSeconds,
      ]);
      rows = result.rows;
      // No state row updated (paused, cancelled, lease lost meanwhile): the rows must not change
      // either. Rows the update left still matching `where`: the batch is undone and the backfill fails.
      await lane.db.query(rows.length === 0 || rows[0].still > 0 ? 'ROLLBACK' : 'COMMIT');
    } catch (error) {
      await lane.db.query('ROLLBACK').catch(() => undefined);
      const elapsedMs = performance.now() - started;
      this.pendingActiveMs += active + elapsedMs / this.workers;
      return this.batchFailed(state, lane, from, to, size, elapsedMs, error);
    }
    const elapsedMs = performance.now() - started;
    if (rows.length === 0) {
      this.pendingActiveMs += active;
      return 'lost';
    }
    if (rows[0].still > 0) {
      await this.fail(`${rows[0].still} rows of (${(from ?? ['start']).join(', ')}] .. (${to.join(', ')}] would still match \`where\` after their update (the batch was undone): \`set\` does not finish them`);
    }
    this.pendingActiveMs += elapsedMs / this.workers;
    this.remember(elapsedMs);
    this.window = pushOutcome(this.window, 'ok');
    lane.failuresAtCursor = 0;
    lane.controller = afterSuccess(lane.controller, units, elapsedMs, this.limits(state));
    this.unitsThisRun += units;
    this.changedThisRun += rows[0].changed;
    await this.emit({
      type: 'batch',
      phase: state.phase,
      from,
      to,
      batchSize: size,
      nextBatchSize: lane.controller.batchSize,
      units,
      changed: rows[0].changed,
      elapsedMs,
      outcome: 'ok',
      batches: state.batches + 1,
      lane: lane.index,
    });
    const pause = dutySleepMs(elapsedMs, this.def.dutyCycle);
    if (pause > 0) await this.clock.sleep(pause);
    return { changed: rows[0].changed, left: Number(rows[0].left) };
  }

  private async batchFailed(state: BackfillState, lane: Lane, from: string[] | null, to: string[], size: number, elapsedMs: number, error: unknown): Promise<'retry'> {
    const e = asDbError(error);
    if (!e.code || !RETRYABLE.has(e.code)) {
      await this.fail(`batch (${(from ?? ['start']).join(', ')}] .. (${to.join(', ')}] failed: ${e.code ? `[${e.code}] ` : ''}${e.message}`);
    }
    const outcome: Outcome = e.code === '57014' ? 'statement-timeout' : 'lock-timeout';
    this.remember(elapsedMs);
    this.window = pushOutcome(this.window, outcome);
    lane.failuresAtCursor++;
    lane.controller = afterTimeout(lane.controller, this.limits(state), outcome === 'statement-timeout' ? elapsedMs : undefined);
    await this.writeState(lane.db, `UPDATE ${STATE_SQL} SET failed_batches = failed_batches + 1, batch_size = $3, last_error = $4, updated_at = now() WHERE name = $1 AND lease_owner = $2`, [
      this.def.name,
      this.owner,
      lane.controller.batchSize,
      `[${e.code}] ${e.message}`,
    ]);
    await this.emit({ type: 'timeout', phase: state.phase, from, to, batchSize: size, nextBatchSize: lane.controller.batchSize, elapsedMs, outcome, message: e.message, lane: lane.index });
    this.logger.warn('backfill batch timed out', { backfill: this.def.name, outcome, batchSize: size, nextBatchSize: lane.controller.batchSize });
    if (lane.failuresAtCursor >= RANGE_ATTEMPTS) {
      if (state.phase !== 'main') {
        await this.fail(`range (${(from ?? ['start']).join(', ')}] .. (${to.join(', ')}] failed ${RANGE_ATTEMPTS} times in the ${state.phase} phase: [${e.code}] ${e.message}`);
      }
      await this.setAside(lane, from, to, `[${e.code}] ${e.message}`);
      lane.failuresAtCursor = 0;
    }
    if (mostRecentFailed(this.window)) {
      await this.fail(`most recent batches failed (${this.window.filter((o) => o === 'statement-timeout').length} of the last ${this.window.length} hit statement_timeout); last: [${e.code}] ${e.message}`);
    }
    return 'retry';
  }

  /** Records a range that failed 3 times for the retry phase and moves the lane's cursor past it. */
  private async setAside(lane: Lane, from: string[] | null, to: string[], error: string): Promise<void> {
    const range: SetAsideRange = { from, to, error };
    await this.writeState(
      lane.db,
      `UPDATE ${STATE_SQL} SET set_aside = set_aside || jsonb_build_array($3::jsonb), ${cursorAssignment(lane.index, 4)}, updated_at = now() WHERE name = $1 AND lease_owner = $2`,
      [this.def.name, this.owner, JSON.stringify(range), to],
    );
    lane.cursor = to;
    this.logger.warn('backfill range set aside', { backfill: this.def.name, from, to });
    await this.emit({ type: 'set-aside', phase: 'main', from, to, message: error, lane: lane.index });
  }

  private async fail(message: string): Promise<never> {
    await this.writeState(this.db, `UPDATE ${STATE_SQL} SET status = 'failed', last_error = $2, updated_at = now() WHERE name = $1`, [this.def.name, message]);
    this.logger.error('backfill failed', { backfill: this.def.name, error: message });
    throw new BackfillFailedError(`backfill "${this.def.name}" failed: ${message}`, { details: { backfill: this.def.name } });
  }

  private remember(ms: number): void {
    this.recentMs = [...this.recentMs, ms].slice(-10);
  }

  private async emit(event: BatchEvent): Promise<void> {
    if (this.options.onEvent) await this.options.onEvent(event);
  }

  private async reload(db: Db = this.db): Promise<BackfillState> {
    const state = await readState(db, this.def.name);
    if (!state) throw new BackfillFailedError(`backfill "${this.def.name}" disappeared`);
    return state;
  }

  private result(state: BackfillState, status: RunStatus, waitSeconds: number, holdReason?: string): BackfillResult {
    const elapsed = (this.clock.now().getTime() - this.startedAt) / 1000;
    const ratePerSec = elapsed > 0 ? this.unitsThisRun / elapsed : 0;
    const gained = state.progress - this.startProgress;
    const etaSeconds = status === 'done' ? 0 : gained > 0 && elapsed > 0 ? Math.round(((1 - state.progress) * elapsed) / gained) : null;
    return {
      name: state.name,
      status,
      phase: state.phase,
      cursor: state.cursor,
      rowsDone: state.rowsDone,
      rowsEstimate: state.rowsEstimate,
      ratePerSec: Math.round(ratePerSec),
      etaSeconds,
      waitSeconds,
      progress: state.progress,
      ...(holdReason ? { holdReason } : {}),
      batches: state.batches,
      parallel: this.parallelism,
    };
  }
}
