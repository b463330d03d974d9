/** Backfill Lambda: one time-budgeted slice of a backfill, or pause / resume / cancel / status. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { backfillFor, backfillState, controlBackfill, runBackfill } from '../core/backfill';
import { backfillEventSchema, parseEvent, type BackfillResult } from '../core/contracts';
import { BackfillDefinitionError } from '../core/errors';
import { handlerConfig } from './shared/config';
import { connector, migrations, withSession } from './shared/deps';
import { coreLogger, lambdaHandler, metrics, tagInvocation } from './shared/powertools';
import { fromEngine, fromState } from './steps/backfill';

/** Time kept back from the deadline for closing the session and returning. */
const RETURN_MARGIN_MS = 5_000;

export const handler = lambdaHandler('backfill', async (raw, context): Promise<BackfillResult> => {
  const event = parseEvent(backfillEventSchema, raw, 'backfill');
  const config = handlerConfig();
  tagInvocation('backfill', event.executionName, event.name);
  const local = await migrations(config.migrationsDir);
  const definitions = await Promise.all(local.map(async (m) => ({ migration: m.name, definition: await backfillFor(m) })));
  const found = definitions.find((d) => d.definition && (d.definition.name === event.name || d.migration === event.name))?.definition;
  if (!found) throw new BackfillDefinitionError(`no backfill named "${event.name}" in ${config.migrationsDir} (neither a backfill.json name nor a migration folder with one)`);
  return withSession({ step: `backfill-${event.command}`, executionName: event.executionName }, async (db) => {
    if (event.command === 'status') return fromState(found.name, await backfillState(db, found.name));
    if (event.command !== 'run') return fromState(found.name, await controlBackfill(db, found.name, event.command));
    const deadlineMs = Date.now() + context.getRemainingTimeInMillis() - RETURN_MARGIN_MS;
    const result = await runBackfill(db, found, {
      deadlineMs,
      owner: event.executionName,
      logger: coreLogger,
      // `parallel` partitions each walk on a session of their own (closed before this returns).
      openSession: () => connector().open({ step: 'backfill-run', executionName: event.executionName }),
    });
    metrics.addMetric('BackfillRowsDone', MetricUnit.Count, result.rowsDone);
    return fromEngine(result);
  });
});
