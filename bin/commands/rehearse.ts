import { BREAK_ENV, DEFAULT_ROWS, Rehearsal } from '../rehearse/runner';
import { intFlag, parseFlags, type Command } from './command';

export const rehearseCommand: Command = {
  name: 'rehearse',
  summary: 'run the whole state machine locally on embedded PostgreSQL through the runbook scenarios',
  help: `Usage: migration-runner rehearse [--migrations DIR] [--database-url URL] [--rows N] [--keep]

Runs state-machines/migration.asl.json offline with the real Lambda handlers on an embedded
PostgreSQL (started and removed by this command). RDS snapshots and point-in-time restores are
real copies of the database on the same server (CREATE DATABASE ... TEMPLATE), and the rehearsal
checks their contents.

Without --migrations it rehearses examples/prisma/migrations scenario by scenario on generated
data (--rows users, half as many orders): safe deploy, CREATE INDEX CONCURRENTLY with progress, the
3-step NOT NULL with a backfill barrier, a dangerous migration refused then approved (snapshot),
a failing migration running its rollback.sql, and a point-in-time restore.
With --migrations DIR it rehearses your folder on an empty database: status, deploy (refused when
the linter finds a dangerous migration, then approved), status again, restore to before the deploy.

Prints a live trace of states with durations, backfill and index progress, each migration's lint
verdict with its locks, and a report of expected vs actual outcome per scenario.

Options:
  --migrations DIR     your Prisma migrations folder (default: the bundled examples)
  --database-url URL   rehearse on this server instead of an embedded one: works only in a new
                       scratch database it creates and drops (a role with CREATEDB that can
                       connect to the postgres database); never printed
  --rows N             users to generate for the examples (default ${DEFAULT_ROWS.toLocaleString('en-US')})
  --keep               keep the scratch database and the snapshot/restore copies (--database-url only)
  -h, --help           show this help

Exit codes: 0 every scenario ended as expected, 1 a scenario did not (its failing state is named),
2 bad input. Ctrl-C stops the rehearsal and removes everything it created.
(${BREAK_ENV}=<scenario id> breaks one scenario on purpose; the test suite uses it.)
`,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      migrations: { type: 'string' },
      'database-url': { type: 'string' },
      rows: { type: 'string' },
      keep: { type: 'boolean' },
    });
    const rehearsal = new Rehearsal({
      migrationsDir: values.migrations,
      databaseUrl: values['database-url'],
      rows: intFlag(values.rows, 'rows', DEFAULT_ROWS, 1),
      keep: values.keep ?? false,
      breakScenario: io.env[BREAK_ENV]?.trim() || undefined,
      write: io.stdout,
    });
    // Ctrl-C: remove the scratch database, the copies, the temporary folder and the server first.
    const onSignal = (signal: NodeJS.Signals) => {
      io.stderr(`\n${signal}: stopping the rehearsal and removing what it created...\n`);
      void rehearsal.cancel().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const report = await rehearsal.run();
      return report.ok ? 0 : 1;
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  },
};
