import { connect } from '../../lambdas/adapters/pg';
import { loadMigrations } from '../../lambdas/adapters/fs-source';
import { describeBackfill, listBackfills } from '../../lambdas/core/backfill';
import { formatStatus, status } from '../../lambdas/core/migrations';
import { DATABASE_FLAGS, DATABASE_FLAGS_HELP, DEFAULT_MIGRATIONS_DIR, connectOptions, databaseUrl, parseFlags, type Command } from './command';

export const statusCommand: Command = {
  name: 'status',
  summary: 'compare the migrations folder with the database (like prisma migrate status)',
  help: `Usage: migration-runner status [--database-url URL] [--migrations DIR] [--json]

Reports pending migrations, failed ones, migrations applied in the database but missing locally,
and (a warning Prisma does not give) applied migrations whose migration.sql was edited afterwards.
Also lists backfills with their status, progress, rate and ETA. Reads only; takes no lock.

Options:
${DATABASE_FLAGS_HELP}

Exit codes: 0 up to date (edited migrations only warn), 1 pending/failed/diverged or not managed, 2 bad input.
`,
  async run(argv, io) {
    const { values } = parseFlags(argv, DATABASE_FLAGS);
    const url = databaseUrl(values['database-url'], io.env);
    const dir = values.migrations ?? DEFAULT_MIGRATIONS_DIR;
    const migrations = await loadMigrations(dir);
    const db = await connect(url, connectOptions(values, 'status'));
    try {
      const report = await status(db, migrations);
      const backfills = await listBackfills(db);
      if (values.json) {
        io.stdout(`${JSON.stringify({ ...report, backfills }, null, 2)}\n`);
      } else {
        io.stdout(formatStatus(report, dir));
        if (backfills.length > 0) io.stdout(`\nBackfills:\n${backfills.map((b) => `  ${describeBackfill(b)}`).join('\n')}\n`);
      }
      return report.exitCode;
    } finally {
      await db.close();
    }
  },
};
