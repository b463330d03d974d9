/**
 * Backfills: adaptive, health-throttled, resumable batched updates (issue 4, design/backfill.md).
 *
 * Barrier API (what deploy, the Lambdas and `status` use):
 *
 *   backfillFor(migration)                 -> Promise<BackfillDefinition | undefined>
 *       Parses the migration's `backfillJson` (schema + SQL fragments, no database); undefined when
 *       the folder has no backfill.json. Throws BackfillDefinitionError naming the field.
 *
 *   runBackfill(db, definition, { deadlineMs, owner?, onEvent?, health?, clock?, logger?, openSession? })
 *       -> Promise<BackfillResult { name, status, phase, cursor, rowsDone, rowsEstimate, ratePerSec,
 *                                   etaSeconds, waitSeconds, progress, holdReason?, batches,
 *                                   parallel { requested, running, reason?, cutsFrom? } }>
 *       One slice of work (the backfill Lambda): validates against the catalog before touching a
 *       row, takes the lease, works until `deadlineMs` (absolute epoch ms) is near, then returns.
 *       status: 'running' (call again now), 'holding' / 'paused' (call again after waitSeconds:
 *       a Step Functions Wait state), 'done' (finished and verified). Throws
 *       BackfillDefinitionError, BackfillLeaseHeldError, BackfillFailedError (failed or cancelled).
 *       With the definition's `parallel` > 1 and `openSession`, the main phase is split into
 *       partitions walked at once, each on a session it opens (and closes before returning).
 *
 *   ensureBackfillDone(db, definition, { clock?, onEvent?, logger?, onProgress? })
 *       -> Promise<BackfillResult>   (status 'done')
 *       The deploy barrier for the CLI: loops runBackfill, sleeping through holds, until done.
 *       A paused backfill stops it with BackfillFailedError (details.status = 'paused').
 *       Deploy hook:  afterMigration: async (m) => { const d = await backfillFor(m);
 *                       if (d) await ensureBackfillDone(db, d); return 'continue'; }
 *
 *   backfillState(db, name) -> Promise<BackfillState | undefined>
 *   listBackfills(db)       -> Promise<BackfillState[]>   (for `status`: status, phase, progress, rate)
 *   describeBackfill(state) -> string                    (one line per backfill for `status`)
 *   controlBackfill(db, name, 'pause' | 'resume' | 'cancel') -> Promise<BackfillState>
 *
 * The backfill's name is backfill.json's `name` or the migration folder's name. State lives in
 * `_migration_runner_backfills` on the session's search_path.
 */
import { BackfillFailedError } from '../errors';
import type { Clock } from '../ports';
import { systemClock, type Db } from '../ports';
import { parseBackfillDefinition, resolveBackfill, type BackfillDefinition } from './definition';
import { runBackfill, type BackfillResult, type RunOptions } from './engine';

export { backfillJsonSchema, definitionFromJson, parseBackfillDefinition, resolveBackfill } from './definition';
export type { BackfillDefinition, BackfillJson, HealthLimits, ResolvedBackfill } from './definition';
export { definitionChecksum, describeParallelism, runBackfill, PAUSED_POLL_SECONDS } from './engine';
export type { BackfillResult, BatchEvent, CutSource, Parallelism, RunOptions, RunStatus } from './engine';
export { evaluateHealth, pgHealthProbe } from './health';
export { describeBackfill, etaSeconds, formatDuration } from './progress';
export type { HealthProbe, HealthSample, Hold } from './health';
export { backfillState, controlBackfill, listBackfills, STATE_TABLE } from './state';
export type { BackfillPhase, BackfillState, BackfillStatus, ControlAction } from './state';

/** The backfill of a migration folder, parsed and schema-checked; undefined without backfill.json. */
export async function backfillFor(migration: { readonly name: string; readonly backfillJson?: string }): Promise<BackfillDefinition | undefined> {
  if (migration.backfillJson === undefined) return undefined;
  return parseBackfillDefinition(migration.backfillJson, migration.name, `${migration.name}/backfill.json`);
}

export interface EnsureOptions extends Omit<RunOptions, 'deadlineMs'> {
  /** Called after each slice with its result (progress lines, bars). */
  readonly onProgress?: (result: BackfillResult) => void | Promise<void>;
  /** Length of one slice; the lease is renewed at every batch anyway. @default 60000 */
  readonly sliceMs?: number;
}

/** Runs the backfill to completion (holds are slept through); returns the final 'done' result. */
export async function ensureBackfillDone(db: Db, definition: BackfillDefinition, options: EnsureOptions = {}): Promise<BackfillResult> {
  const clock: Clock = options.clock ?? systemClock;
  const resolved = await resolveBackfill(db, definition);
  for (;;) {
    const result = await runBackfill(db, resolved, { ...options, deadlineMs: clock.now().getTime() + (options.sliceMs ?? 60_000) });
    if (options.onProgress) await options.onProgress(result);
    if (result.status === 'done') return result;
    if (result.status === 'paused') {
      throw new BackfillFailedError(`backfill "${definition.name}" is paused; resume it (backfill --resume) and deploy again`, {
        details: { backfill: definition.name, status: 'paused' },
      });
    }
    if (result.waitSeconds > 0) await clock.sleep(result.waitSeconds * 1000);
  }
}
