/**
 * The one apply orchestration, shared by the apply Lambda (deployStep) and the CLI's deploy:
 *
 *   advisory lock 72707369 (bounded wait, P1002 naming the holder)      <- deploy()
 *   -> failed rows refused (P3009), every pending migration planned     <- deploy()
 *   -> backfill barriers an earlier deploy left owed (barriers.ts rule)  <- here, under the lock
 *   -> each pending migration: time budget? apply it; its backfill done? <- here, deploy() hooks
 *
 * Nothing touches the database before the advisory lock is held, so a second deploy during a
 * barrier waits on the lock (and gives up with P1002, as Prisma does) instead of racing the first
 * one for the backfill's lease. What a barrier does is the caller's `onBarrier`: stop and hand it
 * to the state machine (the Lambda), or run the backfill inline and continue (the CLI).
 */
import type { BackfillDefinition } from '../backfill';
import { deploy, type AppliedMigration, type DeployOptions, type HookDecision } from '../migrations/deploy';
import type { LocalMigration } from '../migrations/folder';
import { silentLogger, systemClock, type Db } from '../ports';
import { barrierAfter, owedBarriers, readBackfills, type Barrier } from './barriers';
import { TimeBudget, type TimeBudgetOptions } from './budget';

export interface ApplyOptions extends Omit<DeployOptions, 'hooks'> {
  /**
   * What a barrier does. 'stop' ends the deploy there (status 'barrier'); 'continue' means the
   * hook ran the backfill to done and the deploy goes on. Called under the advisory lock.
   */
  readonly onBarrier: (barrier: Barrier) => Promise<HookDecision> | HookDecision;
  /** Stop before a migration that may not finish in time (status 'time'). @default no budget */
  readonly budget?: TimeBudgetOptions;
}

export interface ApplyOutcome {
  /** done: nothing remains; barrier: stopped at `barrier`; time: stopped by the budget. */
  readonly status: 'done' | 'barrier' | 'time';
  readonly applied: AppliedMigration[];
  readonly remaining: string[];
  readonly barrier?: Barrier;
}

/** Applies pending migrations up to the end, a barrier the caller stops at, or the time budget. */
export async function applyMigrations(db: Db, migrations: readonly LocalMigration[], options: ApplyOptions): Promise<ApplyOutcome> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const { onBarrier, budget: budgetOptions, ...deployOptions } = options;
  // Every backfill.json is validated before the database is touched.
  const backfills: ReadonlyMap<string, BackfillDefinition> = await readBackfills(migrations);
  const budget = budgetOptions ? new TimeBudget(budgetOptions, clock) : undefined;
  let stoppedAt: Barrier | undefined;

  const pass = async (barrier: Barrier, reached: string): Promise<HookDecision> => {
    logger.info(reached, { migration: barrier.migration, backfill: barrier.backfill });
    const decision = await onBarrier(barrier);
    if (decision === 'stop') stoppedAt = barrier;
    return decision;
  };

  const result = await deploy(db, migrations, {
    ...deployOptions,
    clock,
    logger,
    hooks: {
      afterLock: async ({ pending }) => {
        if (backfills.size === 0) return 'continue';
        for (const barrier of await owedBarriers(db, migrations, backfills, new Set(pending))) {
          if ((await pass(barrier, 'backfill barrier not cleared yet')) === 'stop') return 'stop';
        }
        return 'continue';
      },
      beforeMigration: (migration) => {
        if (!budget || budget.allowsNext()) return 'continue';
        logger.info('stopping before the next migration: not enough time left in this invocation', { migration: migration.name, ...budget.facts() });
        return 'stop';
      },
      afterMigration: async (migration) => {
        budget?.finished();
        const barrier = await barrierAfter(db, migration.name, backfills);
        return barrier ? pass(barrier, 'backfill barrier reached') : 'continue';
      },
    },
  });
  return {
    status: stoppedAt ? 'barrier' : result.stoppedBefore ? 'time' : 'done',
    applied: result.applied,
    remaining: result.remaining,
    ...(stoppedAt ? { barrier: stoppedAt } : {}),
  };
}
