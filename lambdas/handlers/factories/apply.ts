/** The apply handler: deploy (to the next barrier or the time budget), resolve, rollback.sql, blockers. */
import { deployStep, rollbackStep } from '../../core/apply';
import { blockersCommand } from '../../core/blockers';
import { applyEventSchema, parseEvent, type ApplyResult } from '../../core/contracts';
import { resolve } from '../../core/migrations/resolve';
import { withSession, type HandlerDeps, type InvocationContext } from '../ports';

export function createApplyHandler(deps: HandlerDeps) {
  return async (raw: unknown, context: InvocationContext): Promise<ApplyResult> => {
    const event = parseEvent(applyEventSchema, raw, 'apply');
    const config = deps.config();
    const label = { step: `apply-${event.command}`, executionName: event.executionName };
    deps.annotate({ ...label, migration: 'migration' in event ? event.migration : undefined });
    if (event.command === 'blockers') return withSession(deps, label, (db) => blockersCommand(db, event.terminate ?? [], deps.logger));
    const options = {
      execution: {
        lockTimeoutMs: ('lockTimeoutMs' in event ? event.lockTimeoutMs : undefined) ?? config.lockTimeoutMs,
        maxLockRetries: ('maxLockRetries' in event ? event.maxLockRetries : undefined) ?? config.maxLockRetries,
        statementTimeoutMs: config.statementTimeoutMs,
        concurrentStatementTimeoutMs: config.concurrentStatementTimeoutMs,
      },
      advisoryLockTimeoutMs: config.advisoryLockTimeoutMs,
      openObserver: deps.sessions().opener(label),
      logger: deps.logger,
    };
    const local = await deps.migrations(config.migrationsDir);
    return withSession(deps, label, async (db) => {
      if (event.command === 'resolve') {
        await resolve(db, local, event.as === 'applied' ? { applied: event.migration } : { rolledBack: event.migration });
        return { command: 'resolve', migration: event.migration, as: event.as };
      }
      if (event.command === 'rollback') return rollbackStep(db, local, event.migration, options);
      const result = await deployStep(db, local, { ...options, remainingMs: () => context.getRemainingTimeInMillis(), marginMs: config.timeMarginMs });
      deps.metric('MigrationsApplied', result.applied.length);
      return result;
    });
  };
}
