/** Reads a Prisma migrations folder from disk into core's RawMigrationsFolder. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MigrationFolderError } from '../core/errors';
import { toLocalMigrations, type LocalMigration, type RawMigrationFolder } from '../core/migrations/folder';

async function readOptional(path: string, shown: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new MigrationFolderError(`cannot read ${shown}: ${code ?? (error as Error).message}`);
  }
}

/** Loads, validates and orders the migrations in `dir` (P3015, P3019 and unreadable files fail here). */
export async function loadMigrations(dir: string): Promise<LocalMigration[]> {
  let entries;
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw new MigrationFolderError(`migrations folder ${dir} is not a directory`);
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (error instanceof MigrationFolderError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new MigrationFolderError(
      code === 'ENOENT' ? `migrations folder ${dir} does not exist` : `cannot read migrations folder ${dir}: ${code ?? (error as Error).message}`,
    );
  }
  const folders: RawMigrationFolder[] = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory())
      .map(async (entry) => {
        const base = join(dir, entry.name);
        const [migrationSql, rollbackSql, backfillJson, verifySql] = await Promise.all(
          ['migration.sql', 'rollback.sql', 'backfill.json', 'verify.sql'].map((file) => readOptional(join(base, file), `${entry.name}/${file}`)),
        );
        return { name: entry.name, migrationSql, rollbackSql, backfillJson, verifySql };
      }),
  );
  const lockToml = await readOptional(join(dir, 'migration_lock.toml'), 'migration_lock.toml');
  return toLocalMigrations({ lockToml: lockToml?.toString('utf8'), folders });
}
