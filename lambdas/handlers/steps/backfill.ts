/** Maps the backfill engine's results and state rows to the small contract result. */
import type { BackfillResult as EngineResult, BackfillState } from '../../core/backfill';
import { clip, type BackfillResult } from '../../core/contracts';
import { PAUSED_POLL_SECONDS } from '../../core/backfill';

export function fromEngine(result: EngineResult): BackfillResult {
  return {
    name: result.name,
    status: result.status,
    done: result.status === 'done',
    cursor: result.cursor,
    rowsDone: result.rowsDone,
    rowsEstimate: result.rowsEstimate,
    ratePerSec: Math.round(result.ratePerSec),
    etaSeconds: result.etaSeconds === null ? null : Math.round(result.etaSeconds),
    waitSeconds: Math.ceil(result.waitSeconds),
    parallel: { requested: result.parallel.requested, running: result.parallel.running, ...(result.parallel.reason ? { reason: clip(result.parallel.reason) ?? '' } : {}) },
  };
}

export function fromState(name: string, state: BackfillState | undefined): BackfillResult {
  if (!state) return { name, status: 'pending', done: false, cursor: null, rowsDone: 0, rowsEstimate: 0, ratePerSec: 0, etaSeconds: null, waitSeconds: 0 };
  const rate = state.ratePerSec;
  const left = Math.max(0, state.rowsEstimate * (1 - state.progress));
  return {
    name: state.name,
    status: state.status,
    done: state.status === 'done',
    cursor: state.cursor,
    rowsDone: state.rowsDone,
    rowsEstimate: state.rowsEstimate,
    ratePerSec: Math.round(rate),
    etaSeconds: rate > 0 && state.status !== 'done' ? Math.round(left / rate) : null,
    // A paused backfill is polled, not spun on.
    waitSeconds: state.status === 'paused' ? PAUSED_POLL_SECONDS : 0,
  };
}
