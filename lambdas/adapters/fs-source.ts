/** Reads a Prisma migrations folder from disk into core's RawMigrationsFolder. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
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
  // One listing of the whole tree, then reads of the files that exist only (a 1,000-migration folder
  // is 1,000 directories: probing four names in each would be 4,000 failed opens).
  const files = new Set(
    (await readdir(dir, { recursive: true })).map((path) => path.split(sep).join('/')),
  );
  const known = ['migration.sql', 'rollback.sql', 'backfill.json', 'verify.sql'] as const;
  const folders: RawMigrationFolder[] = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory())
      .map(async (entry) => {
        const [migrationSql, rollbackSql, backfillJson, verifySql] = await Promise.all(
          known.map((file) => {
            const relative = `${entry.name}/${file}`;
            return files.has(relative) ? readOptional(join(dir, entry.name, file), relative) : undefined;
          }),
        );
        return { name: entry.name, migrationSql, rollbackSql, backfillJson, verifySql };
      }),
  );
  const lockToml = await readOptional(join(dir, 'migration_lock.toml'), 'migration_lock.toml');
  return toLocalMigrations({ lockToml: lockToml?.toString('utf8'), folders });
}
