/**
 * `lint <migrations dir | files...>`: reads the files (core stays fs-free), lints them with the
 * earlier migrations as schema history, prints text or JSON. Exit 0: nothing dangerous; 1: something
 * dangerous; 2: a file does not parse, or bad usage.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { InputValidationError, MigrationFolderError } from '../../lambdas/core/errors';
import { formatJson, formatText, lint, type MigrationInput } from '../../lambdas/core/lint';
import { parseFlags, type Command } from './command';

const HELP = `Usage: migration-runner lint <migrations dir | migration dirs or .sql files...> [options]

Classifies each migration safe / careful / dangerous with the lock it takes and the fix.
Given a Prisma migrations folder, lints every migration (or those after --since) and uses the
earlier ones as schema history.

Options:
  --pg-version N     target PostgreSQL: major (16) or major.minor (14.2); default 16
  --format F         text (default) or json (schema: docs/lint.md)
  --since NAME       lint only migrations after NAME (earlier ones are history)
  --timeouts WHO     runner (default: our apply sets lock_timeout) or file (the file must set them)
  --verbose          text: also show safe (informational) and suppressed findings
  --hygiene          also run the schema-hygiene rules (prefer bigint, text, timestamptz, jsonb...)

Suppress a finding with a comment on the line above the statement:
  -- migration-runner:allow <rule-name> <reason>

Exit status: 0 nothing dangerous, 1 dangerous found, 2 parse or usage error.
`;

/** "16" -> 16, "14.2" -> 140002. */
export function parsePgVersion(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,2})(?:\.(\d{1,2}))?$/.exec(value.trim());
  if (!m) throw new InputValidationError(`--pg-version must look like 16 or 14.2, got "${value}"`);
  const major = Number(m[1]);
  if (m[2] === undefined) return major;
  // server_version_num: 14.2 -> 140002, but 9.6 -> 90600.
  return major < 10 ? major * 10000 + Number(m[2]) * 100 : major * 10000 + Number(m[2]);
}

/** A migrations folder (sorted subfolders with migration.sql), one migration folder, or .sql files. */
export function readMigrations(paths: string[], cwd = process.cwd()): MigrationInput[] {
  const read = (name: string, file: string): MigrationInput => ({ name, file: relative(cwd, file) || file, sql: readFileSync(file, 'utf8') });
  if (paths.length === 1 && isDir(paths[0]) && !existsSync(join(paths[0], 'migration.sql'))) {
    const dir = paths[0];
    const folders = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    if (!folders.length) throw new MigrationFolderError(`${dir} holds no migration folders`);
    // One read per folder (no exists/stat first): a missing migration.sql is an error, as for Prisma (P3015).
    return folders.map((f) => {
      try {
        return read(f, join(dir, f, 'migration.sql'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MigrationFolderError(`${join(dir, f)} has no migration.sql`);
        throw error;
      }
    });
  }
  return paths.map((p) => {
    if (isDir(p)) {
      const file = join(p, 'migration.sql');
      if (!existsSync(file)) throw new MigrationFolderError(`${p} has no migration.sql`);
      return read(basename(p), file);
    }
    if (!existsSync(p)) throw new MigrationFolderError(`${p} does not exist`);
    return read(basename(p) === 'migration.sql' ? basename(dirname(p)) : basename(p).replace(/\.sql$/, ''), p);
  });
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

export const lintCommand: Command = {
  name: 'lint',
  summary: 'classify migrations safe / careful / dangerous (locks, rewrites, fixes)',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      {
        'pg-version': { type: 'string' },
        format: { type: 'string' },
        since: { type: 'string' },
        timeouts: { type: 'string' },
        verbose: { type: 'boolean' },
        hygiene: { type: 'boolean' },
      },
      true,
    );
    const format = values.format ?? 'text';
    if (format !== 'text' && format !== 'json') throw new InputValidationError(`--format must be text or json, got "${format}"`);
    const timeouts = values.timeouts ?? 'runner';
    if (timeouts !== 'runner' && timeouts !== 'file') throw new InputValidationError(`--timeouts must be runner or file, got "${timeouts}"`);
    if (!positionals.length) throw new InputValidationError('lint needs a migrations folder or files (see lint --help)');
    let migrations: MigrationInput[];
    try {
      migrations = readMigrations(positionals);
    } catch (error) {
      if (error instanceof MigrationFolderError) throw new InputValidationError(error.message, { cause: error });
      throw error;
    }
    const report = await lint(migrations, { pgVersion: parsePgVersion(values['pg-version']), since: values.since, timeouts, hygiene: values.hygiene });
    io.stdout(format === 'json' ? formatJson(report) : formatText(report, { verbose: values.verbose }));
    if (report.verdict === 'error') return 2;
    return report.verdict === 'dangerous' ? 1 : 0;
  },
};
