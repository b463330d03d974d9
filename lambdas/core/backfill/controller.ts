/**
 * Batch size by time: pure functions, so every rule is a unit test.
 *
 * The size is in "units": rows for keyset batches, key values for integer ranges. The controller
 * keeps an exponential moving average of milliseconds per unit and aims the next batch at the
 * target duration, growing at most x1.2 per batch (a sudden fast batch must not make the next one
 * huge) and halving at once on a timeout.
 *
 * When most of a batch's time is not its rows' (round trips, commit, a CPU shared with other work:
 * a fixed cost per statement), time per unit says nothing about size: a 1-row batch that takes
 * 30 ms looks like 30 ms per row, and halving would never make it faster. The fixed cost is then
 * fitted over recent batches (time = fixed + units x per unit) and the rows' own cost is aimed at
 * what the target leaves, so a loaded server does not drive batches down to one row for good.
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
  /** Recent successful batches as [units, ms], to tell a fixed cost per statement from the cost per unit. */
  readonly recent?: readonly (readonly [number, number])[];
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

/** Successful batches remembered for fitCost. */
const RECENT = 10;

/** The largest next size after a batch of `size`: x1.2, and at least one more (x1.2 alone never grows a size under 5). */
export function grownSize(size: number): number {
  return Math.max(size + 1, size * MAX_GROWTH);
}

/**
 * Fixed cost per statement and cost per unit, fitted by least squares over recent [units, ms];
 * undefined when there are too few batches or their sizes are too alike (less than 2x apart) to
 * tell the two apart. A negative slope (size made no difference within the noise) counts as 0.
 */
export function fitCost(recent: readonly (readonly [number, number])[]): { fixedMs: number; msPerUnit: number } | undefined {
  if (recent.length < 4) return undefined;
  const units = recent.map(([u]) => u);
  if (Math.max(...units) < 2 * Math.min(...units)) return undefined;
  const meanU = units.reduce((a, b) => a + b, 0) / recent.length;
  const meanMs = recent.reduce((a, [, ms]) => a + ms, 0) / recent.length;
  let cov = 0;
  let varU = 0;
  for (const [u, ms] of recent) {
    cov += (u - meanU) * (ms - meanMs);
    varU += (u - meanU) ** 2;
  }
  const msPerUnit = Math.max(0, cov / varU);
  return { fixedMs: Math.max(0, meanMs - msPerUnit * meanU), msPerUnit };
}

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
  const surprises = remember(state, units, elapsedMs);
  const recent = [...(state.recent ?? []), [units, elapsedMs] as const].slice(-RECENT);
  const grown = grownSize(state.batchSize);
  const fit = fitCost(recent);
  let next: number;
  if (fit && fit.fixedMs > limits.targetBatchMs / 2) {
    // Mostly fixed cost: aim the rows' own cost at what the target leaves (at least half of it);
    // the cap bounds the whole statement, fixed cost included.
    const room = Math.max(limits.targetBatchMs - fit.fixedMs, limits.targetBatchMs / 2);
    const capRoom = limits.capMs === undefined ? Infinity : Math.max(0, CAP_SHARE * limits.capMs - fit.fixedMs);
    next = fit.msPerUnit > 0 ? Math.min(grown, room / fit.msPerUnit, capRoom / fit.msPerUnit) : grown;
  } else {
    next = capped(Math.min(limits.targetBatchMs / msPerUnit, grown), msPerUnit, surprises, limits);
  }
  return { batchSize: clamp(next, limits), msPerUnit, ...(surprises ? { surprises } : {}), recent };
}

/**
 * After a statement or lock timeout: halve at once (the range is retried with the smaller size).
 * A statement timeout also counts as a surprise of at least cap / predicted.
 */
export function afterTimeout(state: ControllerState, limits: ControllerLimits, elapsedMs?: number): ControllerState {
  const batchSize = clamp(state.batchSize / 2, limits);
  const surprises = elapsedMs === undefined ? state.surprises : remember(state, state.batchSize, elapsedMs);
  // The average must agree with the smaller size, or the next success would jump straight back.
  return {
    batchSize,
    msPerUnit: Math.max(state.msPerUnit ?? 0, limits.targetBatchMs / Math.max(batchSize, 1)),
    ...(surprises ? { surprises } : {}),
    ...(state.recent ? { recent: state.recent } : {}),
  };
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
