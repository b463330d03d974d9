import { connect } from '../../lambdas/adapters/pg';
import { loadMigrations } from '../../lambdas/adapters/fs-source';
import { InputValidationError } from '../../lambdas/core/errors';
import { resolve } from '../../lambdas/core/migrations';
import { DATABASE_FLAGS, DATABASE_FLAGS_HELP, DEFAULT_MIGRATIONS_DIR, connectOptions, databaseUrl, parseFlags, type Command } from './command';

export const resolveCommand: Command = {
  name: 'resolve',
  summary: 'mark a migration applied or rolled back (like prisma migrate resolve)',
  help: `Usage: migration-runner resolve (--applied NAME | --rolled-back NAME) [--database-url URL] [--migrations DIR]

--rolled-back NAME  marks the failed migration NAME as rolled back, so deploy can apply it again
                    (P3011 if it was never applied, P3012 if it is not failed).
--applied NAME      records NAME as applied without running it (after a manual fix, or to baseline an
                    existing database); P3008 if already applied, P3017 if the folder does not exist.

Options:
${DATABASE_FLAGS_HELP}

Exit codes: 0 done, 1 refused (P3008/P3011/P3012/P3017), 2 bad input.
`,
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...DATABASE_FLAGS, applied: { type: 'string' }, 'rolled-back': { type: 'string' } });
    const applied = values.applied;
    const rolledBack = values['rolled-back'];
    if ((applied === undefined) === (rolledBack === undefined)) {
      throw new InputValidationError('pass exactly one of --applied NAME or --rolled-back NAME');
    }
    const url = databaseUrl(values['database-url'], io.env);
    const migrations = await loadMigrations(values.migrations ?? DEFAULT_MIGRATIONS_DIR);
    const db = await connect(url, connectOptions(values, 'resolve'));
    try {
      const result = await resolve(db, migrations, applied !== undefined ? { applied } : { rolledBack: rolledBack as string });
      if (values.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      else io.stdout(`Migration ${result.migration} marked as ${result.as}.\n`);
      return 0;
    } finally {
      await db.close();
    }
  },
};
