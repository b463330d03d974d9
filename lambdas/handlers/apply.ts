/** Apply Lambda: deploy (to the next barrier or the time budget), resolve, rollback.sql, blockers. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { blockersCommand } from '../core/blockers';
import { applyEventSchema, parseEvent, type ApplyResult } from '../core/contracts';
import { resolve } from '../core/migrations/resolve';
import { handlerConfig } from './shared/config';
import { connector, migrations, withSession } from './shared/deps';
import { coreLogger, lambdaHandler, metrics, tagInvocation } from './shared/powertools';
import { deployStep, rollbackStep } from '../core/apply';

export const handler = lambdaHandler('apply', async (raw, context): Promise<ApplyResult> => {
  const event = parseEvent(applyEventSchema, raw, 'apply');
  const config = handlerConfig();
  tagInvocation(`apply-${event.command}`, event.executionName, 'migration' in event ? event.migration : undefined);
  const label = { step: `apply-${event.command}`, executionName: event.executionName };
  const execution = {
    lockTimeoutMs: ('lockTimeoutMs' in event ? event.lockTimeoutMs : undefined) ?? config.lockTimeoutMs,
    maxLockRetries: ('maxLockRetries' in event ? event.maxLockRetries : undefined) ?? config.maxLockRetries,
    statementTimeoutMs: config.statementTimeoutMs,
    concurrentStatementTimeoutMs: config.concurrentStatementTimeoutMs,
  };
  const advisoryLockTimeoutMs = config.advisoryLockTimeoutMs;
  const openObserver = connector().opener(label);
  if (event.command === 'blockers') return withSession(label, (db) => blockersCommand(db, event.terminate ?? [], coreLogger));
  const local = await migrations(config.migrationsDir);
  return withSession(label, async (db) => {
    if (event.command === 'resolve') {
      await resolve(db, local, event.as === 'applied' ? { applied: event.migration } : { rolledBack: event.migration });
      return { command: 'resolve', migration: event.migration, as: event.as };
    }
    if (event.command === 'rollback') return rollbackStep(db, local, event.migration, { execution, advisoryLockTimeoutMs, openObserver, logger: coreLogger });
    const result = await deployStep(db, local, {
      execution,
      advisoryLockTimeoutMs,
      openObserver,
      logger: coreLogger,
      remainingMs: () => context.getRemainingTimeInMillis(),
      marginMs: config.timeMarginMs,
    });
    metrics.addMetric('MigrationsApplied', MetricUnit.Count, result.applied.length);
    return result;
  });
});
