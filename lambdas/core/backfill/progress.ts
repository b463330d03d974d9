/** Human-readable progress of a backfill, for `status`, the CLI and execution output. */
import type { BackfillState } from './state';

/** Seconds left in the current phase at the backfill's average rate; null when unknown. */
export function etaSeconds(state: BackfillState): number | null {
  if (state.status === 'done') return 0;
  if (state.ratePerSec <= 0 || state.rowsEstimate <= 0) return null;
  return Math.round(((1 - state.progress) * state.rowsEstimate) / state.ratePerSec);
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * One line per backfill, e.g.
 * `20240125_fill_status  running (main) 45.2 %  120,000 rows changed  52,000 rows/s  ETA 1m04s`.
 */
export function describeBackfill(state: BackfillState): string {
  const percent = `${(state.progress * 100).toFixed(1)} %`;
  const parts = [`${state.name}  ${state.status} (${state.phase}) ${percent}`, `${state.rowsDone.toLocaleString('en-US')} rows changed`];
  if (state.status !== 'done' && state.ratePerSec > 0) parts.push(`${Math.round(state.ratePerSec).toLocaleString('en-US')} rows/s`);
  const eta = etaSeconds(state);
  if (state.status !== 'done' && eta !== null) parts.push(`ETA ${formatDuration(eta)}`);
  if (state.holdReason) parts.push(`holding: ${state.holdReason}`);
  if (state.setAside.length) parts.push(`${state.setAside.length} range(s) set aside`);
  if ((state.status === 'failed' || state.status === 'cancelled') && state.lastError) parts.push(`last error: ${state.lastError}`);
  return parts.join('  ');
}
