import { connect } from '../../lambdas/adapters/pg';
import { loadMigrations } from '../../lambdas/adapters/fs-source';
import { backfillFor, backfillState, ensureBackfillDone, type BackfillDefinition } from '../../lambdas/core/backfill';
import { deploy, status, type DeployEvent, type LocalMigration } from '../../lambdas/core/migrations';
import type { Db } from '../../lambdas/core/ports';
import { backfillProgress } from './backfill';
import {
  DATABASE_FLAGS,
  DATABASE_FLAGS_HELP,
  DEFAULT_MIGRATIONS_DIR,
  connectOptions,
  databaseUrl,
  intFlag,
  parseFlags,
  stderrLogger,
  type Command,
  type Io,
} from './command';

function describe(event: DeployEvent): string | undefined {
  switch (event.type) {
    case 'migration-started':
      return `applying ${event.migration}`;
    case 'migration-applied':
      return `applied  ${event.migration} (${event.durationMs} ms${event.retries ? `, ${event.retries} lock retries` : ''})`;
    case 'index-progress':
      return `  index build (line ${event.statement.line}): ${event.phase}, blocks ${event.blocksDone}/${event.blocksTotal}`;
    case 'invalid-index-dropped':
      return `  dropped INVALID leftover ${event.index} before retrying`;
    default:
      return undefined;
  }
}

export const deployCommand: Command = {
  name: 'deploy',
  summary: 'apply pending migrations lock-safely (like prisma migrate deploy)',
  help: `Usage: migration-runner deploy [--database-url URL] [--migrations DIR] [options]

Applies pending migrations in order, writing _prisma_migrations exactly as Prisma does. Each file is
split with PostgreSQL's parser: transactional statements run in one transaction, CONCURRENTLY and other
non-transactional statements run alone. Every statement runs under lock_timeout; a statement that times
out on a lock is rolled back and retried with backoff, and the blocking sessions are named.

Backfill barriers: after a migration whose folder has backfill.json, its backfill runs to completion
(progress on stderr, a bar on a terminal) before the next migration. A backfill left unfinished by an
interrupted deploy is finished first.

Options:
${DATABASE_FLAGS_HELP}
  --lock-timeout MS            lock_timeout per statement (default 3000)
  --max-lock-retries N         retries after a lock timeout (default 5)
  --statement-timeout MS       statement_timeout for transactional statements (default 0 = off)
  --concurrent-timeout MS      statement_timeout for CONCURRENTLY/VACUUM statements (default 0 = off)
  --advisory-lock-timeout MS   wait for another deploy's lock (default 10000)

Exit codes: 0 applied (or nothing pending), 1 a migration failed or the deploy was refused, 2 bad input.
`,
  async run(argv, io: Io) {
    const { values } = parseFlags(argv, {
      ...DATABASE_FLAGS,
      'lock-timeout': { type: 'string' },
      'max-lock-retries': { type: 'string' },
      'statement-timeout': { type: 'string' },
      'concurrent-timeout': { type: 'string' },
      'advisory-lock-timeout': { type: 'string' },
    });
    const execution = {
      lockTimeoutMs: intFlag(values['lock-timeout'], 'lock-timeout', 3000, 1),
      maxLockRetries: intFlag(values['max-lock-retries'], 'max-lock-retries', 5),
      statementTimeoutMs: intFlag(values['statement-timeout'], 'statement-timeout', 0),
      concurrentStatementTimeoutMs: intFlag(values['concurrent-timeout'], 'concurrent-timeout', 0),
    };
    const advisoryLockTimeoutMs = intFlag(values['advisory-lock-timeout'], 'advisory-lock-timeout', 10_000, 1);
    const url = databaseUrl(values['database-url'], io.env);
    const migrations = await loadMigrations(values.migrations ?? DEFAULT_MIGRATIONS_DIR);
    const db = await connect(url, connectOptions(values, 'deploy'));
    try {
      // Every backfill.json is validated before anything runs.
      const backfills = new Map<string, BackfillDefinition>();
      for (const m of migrations) {
        const definition = await backfillFor(m);
        if (definition) backfills.set(m.name, definition);
      }
      const runBackfill = async (definition: BackfillDefinition) => {
        io.stderr(`backfill ${definition.name}: running before the next migration\n`);
        await ensureBackfillDone(db, definition, {
          logger: { ...stderrLogger(io), info: () => undefined },
          openSession: () => connect(url, connectOptions(values, 'backfill')),
          ...backfillProgress(db, definition, io),
        });
        if (io.isTty) io.stdout('\n');
      };
      // A barrier left unfinished by an earlier, interrupted deploy is finished first.
      await finishInterruptedBackfills(db, migrations, backfills, runBackfill);
      const result = await deploy(db, migrations, {
        hooks: {
          afterMigration: async (m) => {
            const definition = backfills.get(m.name);
            if (definition) await runBackfill(definition);
            return 'continue' as const;
          },
        },
        execution,
        advisoryLockTimeoutMs,
        // Progress lines come from onEvent; the logger adds warnings (lock retries) and errors.
        logger: { ...stderrLogger(io), info: () => undefined },
        openObserver: () => connect(url, { applicationName: 'migration-runner:observer' }),
        onEvent: (event) => {
          const line = describe(event);
          if (line) io.stderr(`${line}\n`);
        },
      });
      if (values.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      else if (result.applied.length === 0) io.stdout('No pending migrations to apply.\n');
      else io.stdout(`The following migration(s) have been applied:\n${result.applied.map((m) => `  ${m.name}`).join('\n')}\n\nAll migrations have been successfully applied.\n`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

/** Runs the backfills of already-applied migrations that are not done (an interrupted barrier). */
async function finishInterruptedBackfills(
  db: Db,
  migrations: readonly LocalMigration[],
  backfills: ReadonlyMap<string, BackfillDefinition>,
  run: (definition: BackfillDefinition) => Promise<void>,
): Promise<void> {
  if (backfills.size === 0) return;
  const report = await status(db, migrations);
  const notApplied = new Set([...report.pending, ...report.failed.map((f) => f.name)]);
  for (const m of migrations) {
    const definition = backfills.get(m.name);
    if (!definition || notApplied.has(m.name) || !report.managed) continue;
    const state = await backfillState(db, definition.name);
    if (state?.status !== 'done') await run(definition);
  }
}
