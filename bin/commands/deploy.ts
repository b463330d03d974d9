import { connect } from '../../lambdas/adapters/pg';
import { loadMigrations } from '../../lambdas/adapters/fs-source';
import { applyMigrations } from '../../lambdas/core/apply';
import { ensureBackfillDone } from '../../lambdas/core/backfill';
import type { DeployEvent } from '../../lambdas/core/migrations';
import { flagHelp, flagOptions, readFlag, SETTINGS } from '../../lambdas/core/settings';
import { backfillProgress } from './backfill';
import {
  DATABASE_FLAGS,
  DATABASE_FLAGS_HELP,
  DEFAULT_MIGRATIONS_DIR,
  connectOptions,
  databaseUrl,
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

/** The settings deploy takes as flags (names, bounds, defaults and help: lambdas/core/settings). */
const DEPLOY_SETTINGS = ['lockTimeoutMs', 'maxLockRetries', 'statementTimeoutMs', 'concurrentStatementTimeoutMs', 'advisoryLockTimeoutMs'] as const;

export const deployCommand: Command = {
  name: 'deploy',
  summary: 'apply pending migrations lock-safely (like prisma migrate deploy)',
  help: `Usage: migration-runner deploy [--database-url URL] [--migrations DIR] [options]

Applies pending migrations in order, writing _prisma_migrations exactly as Prisma does. Each file is
split with PostgreSQL's parser: transactional statements run in one transaction, CONCURRENTLY and other
non-transactional statements run alone. Every statement runs under lock_timeout; a statement that times
out on a lock is rolled back and retried with backoff, and the blocking sessions are named.

Backfill barriers: after a migration whose folder has backfill.json, its backfill runs to completion
(progress on stderr, a bar on a terminal) before the next migration. A backfill an interrupted deploy
left unfinished is finished first, under the same advisory lock: a second deploy waits for the first.

Options:
${DATABASE_FLAGS_HELP}
${flagHelp(DEPLOY_SETTINGS)}

Exit codes: 0 applied (or nothing pending), 1 a migration failed or the deploy was refused, 2 bad input.
`,
  async run(argv, io: Io) {
    const { values } = parseFlags(argv, { ...DATABASE_FLAGS, ...flagOptions(...DEPLOY_SETTINGS) });
    const execution = {
      lockTimeoutMs: readFlag(SETTINGS.lockTimeoutMs, values['lock-timeout']),
      maxLockRetries: readFlag(SETTINGS.maxLockRetries, values['max-lock-retries']),
      statementTimeoutMs: readFlag(SETTINGS.statementTimeoutMs, values['statement-timeout']),
      concurrentStatementTimeoutMs: readFlag(SETTINGS.concurrentStatementTimeoutMs, values['concurrent-timeout']),
    };
    const advisoryLockTimeoutMs = readFlag(SETTINGS.advisoryLockTimeoutMs, values['advisory-lock-timeout']);
    const connection = connectOptions(values, 'deploy');
    const url = databaseUrl(values['database-url'], io.env);
    const migrations = await loadMigrations(values.migrations ?? DEFAULT_MIGRATIONS_DIR);
    const db = await connect(url, connection);
    try {
      const result = await applyMigrations(db, migrations, {
        // A barrier runs inline: its backfill to completion, then the next migration.
        onBarrier: async ({ definition }) => {
          io.stderr(`backfill ${definition.name}: running before the next migration\n`);
          await ensureBackfillDone(db, definition, {
            logger: { ...stderrLogger(io), info: () => undefined },
            openSession: () => connect(url, connectOptions(values, 'backfill')),
            ...backfillProgress(db, definition, io),
          });
          if (io.isTty) io.stdout('\n');
          return 'continue' as const;
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
      if (values.json) io.stdout(`${JSON.stringify({ applied: result.applied, remaining: result.remaining }, null, 2)}\n`);
      else if (result.applied.length === 0) io.stdout('No pending migrations to apply.\n');
      else io.stdout(`The following migration(s) have been applied:\n${result.applied.map((m) => `  ${m.name}`).join('\n')}\n\nAll migrations have been successfully applied.\n`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

