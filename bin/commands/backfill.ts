import { connect } from '../../lambdas/adapters/pg';
import { loadMigrations } from '../../lambdas/adapters/fs-source';
import {
  backfillFor,
  backfillState,
  controlBackfill,
  ensureBackfillDone,
  listBackfills,
  type BackfillDefinition,
  type BackfillState,
  type BatchEvent,
  etaSeconds,
  formatDuration,
  type ControlAction,
} from '../../lambdas/core/backfill';
import { InputValidationError } from '../../lambdas/core/errors';
import type { Db } from '../../lambdas/core/ports';
import { DATABASE_FLAGS, DATABASE_FLAGS_HELP, DEFAULT_MIGRATIONS_DIR, databaseUrl, parseFlags, stderrLogger, type Command, type Io } from './command';

export const backfillCommand: Command = {
  name: 'backfill',
  summary: "run a migration's backfill.json to completion, or pause / resume / cancel it",
  help: `Usage: migration-runner backfill [--name MIGRATION] [--pause | --resume | --cancel] [options]

Runs the backfill of migration folder MIGRATION (its backfill.json) until it is done and verified:
batches sized to backfill.json's targetBatchMs and cut off at its statementTimeoutMs, its
\`parallel\` partitions walked at once on sessions of their own, health holds waited out, resumable
after any interruption (state in the _migration_runner_backfills table). Without --name, continues
the one unfinished backfill. On a terminal, draws a progress bar with rate and ETA.

  --pause / --resume / --cancel   control a backfill by name (a running worker stops at its next batch)

Options:
  --name MIGRATION     migration folder whose backfill.json to run (or the backfill's name to control)
${DATABASE_FLAGS_HELP}

Exit codes: 0 done (or control applied), 1 failed / cancelled / paused / lease held, 2 bad input.
`,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...DATABASE_FLAGS,
      name: { type: 'string' },
      pause: { type: 'boolean' },
      resume: { type: 'boolean' },
      cancel: { type: 'boolean' },
    });
    const actions = (['pause', 'resume', 'cancel'] as const).filter((a) => values[a]);
    if (actions.length > 1) throw new InputValidationError('use only one of --pause, --resume, --cancel');
    const url = databaseUrl(values['database-url'], io.env);
    const db = await connect(url, { applicationName: 'migration-runner:backfill' });
    try {
      if (actions.length === 1) return await control(db, values.name, actions[0], io, Boolean(values.json));
      const name = values.name ?? (await unfinishedName(db));
      const definition = await definitionOf(values.migrations ?? DEFAULT_MIGRATIONS_DIR, name);
      const result = await ensureBackfillDone(db, definition, {
        logger: stderrLogger(io),
        // `parallel` partitions each walk on a session of their own.
        openSession: () => connect(url, { applicationName: 'migration-runner:backfill' }),
        ...backfillProgress(db, definition, io),
      });
      if (io.isTty) io.stdout('\n');
      io.stdout(
        values.json
          ? `${JSON.stringify(result, null, 2)}\n`
          : `backfill ${result.name}: done, ${result.rowsDone.toLocaleString('en-US')} rows changed in ${result.batches} batches\n`,
      );
      return 0;
    } finally {
      await db.close();
    }
  },
};

async function control(db: Db, name: string | undefined, action: ControlAction, io: Io, json: boolean): Promise<number> {
  if (!name) throw new InputValidationError(`--${action} needs --name`);
  const state = await controlBackfill(db, name, action);
  io.stdout(json ? `${JSON.stringify(state, null, 2)}\n` : `backfill ${name}: ${state.status}\n`);
  return 0;
}

async function unfinishedName(db: Db): Promise<string> {
  const open = (await listBackfills(db)).filter((b) => b.status !== 'done');
  if (open.length === 1) return open[0].name;
  if (open.length === 0) throw new InputValidationError('no unfinished backfill: pass --name MIGRATION to start one');
  throw new InputValidationError(`several unfinished backfills (${open.map((b) => b.name).join(', ')}): pass --name`);
}

async function definitionOf(dir: string, name: string): Promise<BackfillDefinition> {
  const migration = (await loadMigrations(dir)).find((m) => m.name === name);
  if (!migration) throw new InputValidationError(`no migration folder "${name}" in ${dir}`);
  const definition = await backfillFor(migration);
  if (!definition) throw new InputValidationError(`migration ${name} has no backfill.json`);
  return definition;
}

/**
 * One line per slice when piped; a redrawn bar (state read at most twice a second) on a terminal.
 * Either way, a line whenever the partitions walking at once change (`parallel: requested 3,
 * running 1, because ...`).
 */
export function backfillProgress(db: Db, definition: BackfillDefinition, io: Io) {
  const parallelLine = (event: BatchEvent): boolean => {
    if (event.type !== 'parallel' || !event.message) return false;
    io.stderr(`${io.isTty ? '\n' : ''}backfill ${definition.name}: ${event.message}\n`);
    return true;
  };
  if (!io.isTty) {
    return {
      onEvent: (event: BatchEvent) => void parallelLine(event),
      onProgress: (r: { status: string; phase: string; progress: number; rowsDone: number; ratePerSec: number; etaSeconds: number | null; holdReason?: string }) =>
        io.stderr(
          `backfill ${definition.name}: ${r.status} ${r.phase} ${(r.progress * 100).toFixed(1)} %, ${r.rowsDone} rows, ${r.ratePerSec} rows/s` +
            `${r.etaSeconds === null ? '' : `, ETA ${formatDuration(r.etaSeconds)}`}${r.holdReason ? ` (holding: ${r.holdReason})` : ''}\n`,
        ),
    };
  }
  let last = 0;
  return {
    onEvent: async (event: BatchEvent) => {
      if (parallelLine(event)) return;
      const now = Date.now();
      if (now - last < 500) return;
      last = now;
      const state = await backfillState(db, definition.name);
      if (state) io.stdout(`\r${bar(state)}`);
    },
  };
}

export function bar(state: BackfillState, width = 30): string {
  const filled = Math.round(state.progress * width);
  const left = etaSeconds(state);
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(state.progress * 100).toFixed(1).padStart(5)} % ${state.phase.padEnd(6)} ` +
    `${Math.round(state.ratePerSec).toLocaleString('en-US')} rows/s  ${state.rowsDone.toLocaleString('en-US')} rows  ETA ${left === null ? '?' : formatDuration(left)}   `
  );
}
