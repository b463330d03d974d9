/** The backfill handler: one time-budgeted slice of a backfill, or pause / resume / cancel / status. */
import { backfillFor, backfillState, controlBackfill, runBackfill } from '../../core/backfill';
import { backfillEventSchema, fromEngine, fromState, parseEvent, type BackfillStepResult } from '../../core/contracts';
import { BackfillDefinitionError } from '../../core/errors';
import { withSession, type HandlerDeps, type InvocationContext } from '../ports';

/** Time kept back from the deadline for closing the session and returning. */
const RETURN_MARGIN_MS = 5_000;

export function createBackfillHandler(deps: HandlerDeps) {
  return async (raw: unknown, context: InvocationContext): Promise<BackfillStepResult> => {
    const event = parseEvent(backfillEventSchema, raw, 'backfill');
    const config = deps.config();
    deps.annotate({ step: 'backfill', executionName: event.executionName, migration: event.name });
    const local = await deps.migrations(config.migrationsDir);
    const definitions = await Promise.all(local.map(async (m) => ({ migration: m.name, definition: await backfillFor(m) })));
    const found = definitions.find((d) => d.definition && (d.definition.name === event.name || d.migration === event.name))?.definition;
    if (!found) throw new BackfillDefinitionError(`no backfill named "${event.name}" in ${config.migrationsDir} (neither a backfill.json name nor a migration folder with one)`);
    const label = { step: `backfill-${event.command}`, executionName: event.executionName };
    return withSession(deps, label, async (db) => {
      if (event.command === 'status') return fromState(found.name, await backfillState(db, found.name));
      if (event.command !== 'run') return fromState(found.name, await controlBackfill(db, found.name, event.command));
      const result = await runBackfill(db, found, {
        deadlineMs: Date.now() + context.getRemainingTimeInMillis() - RETURN_MARGIN_MS,
        owner: event.executionName,
        logger: deps.logger,
        // `parallel` partitions each walk on a session of their own (closed before this returns).
        openSession: () => deps.sessions().open({ step: 'backfill-run', executionName: event.executionName }),
      });
      deps.metric('BackfillRowsDone', result.rowsDone);
      return fromEngine(result);
    });
  };
}
