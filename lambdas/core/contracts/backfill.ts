/** The backfill step's contract: its event, and its result mapped from the engine's (one BackfillResult type, in core/backfill). */
import { z } from 'zod';
import { PAUSED_POLL_SECONDS, type BackfillResult, type BackfillState, type BackfillStatus, type Parallelism } from '../backfill';
import { clip, executionNameSchema, migrationNameSchema } from './shared';

export const backfillEventSchema = z.strictObject({
  /** The backfill's name (backfill.json `name`, as in apply's `barrier.backfill`) or its migration folder's name. */
  name: migrationNameSchema,
  command: z.enum(['run', 'pause', 'resume', 'cancel', 'status']),
  executionName: executionNameSchema.optional(),
});
export type BackfillEvent = z.infer<typeof backfillEventSchema>;

/**
 * The backfill Lambda's result: the engine's BackfillResult (core/backfill, the one result type)
 * or the backfill's state row, in the small shape the state machine reads. One time-budgeted run
 * (command run) or a control command. `done` is true exactly when `status === "done"`: then call
 * apply deploy again. `waitSeconds > 0`: the database asked us to hold; Wait that long
 * (SecondsPath) and run again. Throws BackfillFailedError, BackfillLeaseHeldError,
 * BackfillDefinitionError.
 */
export interface BackfillStepResult extends Pick<BackfillResult, 'name' | 'rowsDone' | 'rowsEstimate' | 'ratePerSec' | 'etaSeconds' | 'waitSeconds'> {
  /** The run's status, the state row's, or `pending` before the backfill ever ran. */
  readonly status: BackfillStatus | 'pending';
  readonly done: boolean;
  /** Key of the last row done (JSON of the key columns), null before the first batch. */
  readonly cursor: unknown;
  /** Partitions requested (backfill.json `parallel`) and walking at once in this call, and why fewer. */
  readonly parallel?: Pick<Parallelism, 'requested' | 'running' | 'reason'>;
}

/** The fields a run and a state row share, in the contract's shape (rates and times rounded). */
function stepResult(
  source: Pick<BackfillResult, 'name' | 'cursor' | 'rowsDone' | 'rowsEstimate'> & { readonly status: BackfillStatus },
  timing: { readonly ratePerSec: number; readonly etaSeconds: number | null; readonly waitSeconds: number },
): BackfillStepResult {
  return {
    name: source.name,
    status: source.status,
    done: source.status === 'done',
    cursor: source.cursor,
    rowsDone: source.rowsDone,
    rowsEstimate: source.rowsEstimate,
    ratePerSec: Math.round(timing.ratePerSec),
    etaSeconds: timing.etaSeconds === null ? null : Math.round(timing.etaSeconds),
    waitSeconds: Math.ceil(timing.waitSeconds),
  };
}

/** A run's result in the contract's shape (the parallelism reason clipped). */
export function fromEngine(result: BackfillResult): BackfillStepResult {
  const { requested, running, reason } = result.parallel;
  return { ...stepResult(result, result), parallel: { requested, running, ...(reason ? { reason: clip(reason) ?? '' } : {}) } };
}

/** A state row (status and control commands) in the contract's shape; `pending` when none. */
export function fromState(name: string, state: BackfillState | undefined): BackfillStepResult {
  if (!state) return { name, status: 'pending', done: false, cursor: null, rowsDone: 0, rowsEstimate: 0, ratePerSec: 0, etaSeconds: null, waitSeconds: 0 };
  const rate = state.ratePerSec;
  const left = Math.max(0, state.rowsEstimate * (1 - state.progress));
  return stepResult(state, {
    ratePerSec: rate,
    etaSeconds: rate > 0 && state.status !== 'done' ? left / rate : null,
    // A paused backfill is polled, not spun on.
    waitSeconds: state.status === 'paused' ? PAUSED_POLL_SECONDS : 0,
  });
}
