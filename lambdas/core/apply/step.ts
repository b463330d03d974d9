/**
 * The state machine's deploy step (apply Lambda, command "deploy"): the apply orchestration with
 * barriers handed to the state machine (BackfillBatch loop, then deploy again) and the
 * invocation's time budget, mapped to the small contract result.
 */
import { RESULT_LIMITS, type ApplyDeployResult } from '../contracts';
import type { DeployEvent } from '../migrations/deploy';
import type { LocalMigration } from '../migrations/folder';
import { silentLogger, type Db } from '../ports';
import { applyMigrations, type ApplyOptions } from './orchestrate';

export interface DeployStepOptions extends Omit<ApplyOptions, 'onBarrier' | 'budget' | 'onEvent'> {
  /** Milliseconds left in this invocation (context.getRemainingTimeInMillis). */
  readonly remainingMs: () => number;
  /** Do not start a migration with less than this left (plus the slowest one so far). */
  readonly marginMs: number;
}

export async function deployStep(db: Db, migrations: readonly LocalMigration[], options: DeployStepOptions): Promise<ApplyDeployResult> {
  const { remainingMs, marginMs, ...rest } = options;
  const logger = options.logger ?? silentLogger;
  const outcome = await applyMigrations(db, migrations, {
    ...rest,
    budget: { remainingMs, marginMs },
    onBarrier: () => 'stop',
    onEvent: (event: DeployEvent) => {
      if (event.type !== 'index-progress') return;
      const { phase, blocksDone, blocksTotal, tuplesDone, tuplesTotal } = event;
      logger.info('index build progress', { line: event.statement.line, phase, blocksDone, blocksTotal, tuplesDone, tuplesTotal });
    },
  });
  return {
    command: 'deploy',
    status: outcome.status,
    applied: outcome.applied.map((a) => a.name).slice(0, RESULT_LIMITS.names),
    remaining: outcome.remaining.slice(0, RESULT_LIMITS.names),
    ...(outcome.barrier ? { barrier: { migration: outcome.barrier.migration, backfill: outcome.barrier.backfill } } : {}),
  };
}
