/**
 * Batch size by time: pure functions, so every rule is a unit test.
 *
 * The size is in "units": rows for keyset batches, key values for integer ranges. The controller
 * keeps an exponential moving average of milliseconds per unit and aims the next batch at the
 * target duration, growing at most x1.2 per batch (a sudden fast batch must not make the next one
 * huge) and halving at once on a timeout.
 */

export interface ControllerLimits {
  readonly targetBatchMs: number;
  readonly minBatchSize: number;
  readonly maxBatchSize: number;
  /**
   * Hard cap on a statement (its statement_timeout). The next batch is also sized so that, even
   * as much slower than predicted as recent batches were, it stays under CAP_SHARE of the cap.
   */
  readonly capMs?: number;
}

export interface ControllerState {
  readonly batchSize: number;
  /** EMA of ms per unit; undefined until the first measured batch. */
  readonly msPerUnit?: number;
  /** Recent batches' actual / predicted duration (the noise the next batch must survive). */
  readonly surprises?: readonly number[];
}

/** Share of the cap a batch may be predicted to use at the worst recent surprise. */
export const CAP_SHARE = 0.9;
/** Surprises remembered. */
const SURPRISES = 10;

function remember(state: ControllerState, units: number, elapsedMs: number): readonly number[] | undefined {
  if (state.msPerUnit === undefined || units <= 0) return state.surprises;
  const predicted = units * state.msPerUnit;
  if (predicted < MIN_MEASURABLE_MS) return state.surprises;
  return [...(state.surprises ?? []), elapsedMs / predicted].slice(-SURPRISES);
}

/** Largest size whose predicted duration, times the worst recent surprise, stays under CAP_SHARE of the cap. */
function capped(size: number, msPerUnit: number, surprises: readonly number[] | undefined, limits: ControllerLimits): number {
  if (limits.capMs === undefined || !surprises?.length) return size;
  const worst = Math.max(1, ...surprises);
  return Math.min(size, (CAP_SHARE * limits.capMs) / (msPerUnit * worst));
}

/** Weight of the newest measurement in the moving average. */
export const EMA_ALPHA = 0.3;
/** Largest growth from one batch to the next. */
export const MAX_GROWTH = 1.2;
/** Batches shorter than this say little about cost per unit (timer and round-trip noise). */
const MIN_MEASURABLE_MS = 2;

function clamp(size: number, limits: ControllerLimits): number {
  return Math.max(limits.minBatchSize, Math.min(limits.maxBatchSize, Math.floor(size)));
}

/** After a batch of `units` took `elapsedMs`: the next size and the updated average. */
export function afterSuccess(state: ControllerState, units: number, elapsedMs: number, limits: ControllerLimits): ControllerState {
  if (units <= 0) return { ...state, batchSize: clamp(state.batchSize * MAX_GROWTH, limits) };
  const measured = Math.max(elapsedMs, MIN_MEASURABLE_MS) / units;
  // Slower than the average: believe it at once (a statement past the target hurts traffic now);
  // faster: blend it in (one lucky batch must not make the next one huge).
  const msPerUnit = state.msPerUnit === undefined || measured > state.msPerUnit ? measured : EMA_ALPHA * measured + (1 - EMA_ALPHA) * state.msPerUnit;
  // A short final batch (fewer units than asked) measures cost but is no reason to shrink.
  const ideal = limits.targetBatchMs / msPerUnit;
  const surprises = remember(state, units, elapsedMs);
  const next = capped(Math.min(ideal, state.batchSize * MAX_GROWTH), msPerUnit, surprises, limits);
  return { batchSize: clamp(next, limits), msPerUnit, ...(surprises ? { surprises } : {}) };
}

/**
 * After a statement or lock timeout: halve at once (the range is retried with the smaller size).
 * A statement timeout also counts as a surprise of at least cap / predicted.
 */
export function afterTimeout(state: ControllerState, limits: ControllerLimits, elapsedMs?: number): ControllerState {
  const batchSize = clamp(state.batchSize / 2, limits);
  const surprises = elapsedMs === undefined ? state.surprises : remember(state, state.batchSize, elapsedMs);
  // The average must agree with the smaller size, or the next success would jump straight back.
  return { batchSize, msPerUnit: Math.max(state.msPerUnit ?? 0, limits.targetBatchMs / Math.max(batchSize, 1)), ...(surprises ? { surprises } : {}) };
}

/** Sleep after a batch so that work takes `dutyCycle` of wall time. */
export function dutySleepMs(elapsedMs: number, dutyCycle: number): number {
  if (dutyCycle >= 1) return 0;
  return Math.round((elapsedMs * (1 - dutyCycle)) / dutyCycle);
}

/** Rolling outcome window: "most recent batches fail" and "lock waits keep happening". */
export type Outcome = 'ok' | 'statement-timeout' | 'lock-timeout';
export const WINDOW = 10;

export function pushOutcome(window: readonly Outcome[], outcome: Outcome): Outcome[] {
  return [...window, outcome].slice(-WINDOW);
}

/**
 * True when more than half of a full window hit statement_timeout: the work itself is too slow
 * even at the smallest sizes. Lock timeouts are contention, not failure: they lead to a hold.
 */
export function mostRecentFailed(window: readonly Outcome[]): boolean {
  return window.length >= WINDOW && window.filter((o) => o === 'statement-timeout').length > WINDOW / 2;
}

export function lockTimeoutsIn(window: readonly Outcome[]): number {
  return window.filter((o) => o === 'lock-timeout').length;
}
