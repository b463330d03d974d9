import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type MigrationSpec = string | { sql: string; rollback?: string; backfill?: unknown; verify?: string };

/** A temporary Prisma migrations folder; `add` writes more migrations into it. */
export class MigrationsDir {
  private constructor(readonly path: string) {}

  static async create(migrations: Record<string, MigrationSpec> = {}, lockToml = 'provider = "postgresql"\n'): Promise<MigrationsDir> {
    const dir = new MigrationsDir(await mkdtemp(join(tmpdir(), 'mr-migrations-')));
    if (lockToml) await writeFile(join(dir.path, 'migration_lock.toml'), lockToml);
    await dir.add(migrations);
    return dir;
  }

  async add(migrations: Record<string, MigrationSpec>): Promise<void> {
    for (const [name, spec] of Object.entries(migrations)) {
      const folder = join(this.path, name);
      await mkdir(folder, { recursive: true });
      const { sql, rollback, backfill, verify } = typeof spec === 'string' ? { sql: spec } : spec;
      await writeFile(join(folder, 'migration.sql'), sql);
      if (rollback !== undefined) await writeFile(join(folder, 'rollback.sql'), rollback);
      if (backfill !== undefined) await writeFile(join(folder, 'backfill.json'), JSON.stringify(backfill, null, 2));
      if (verify !== undefined) await writeFile(join(folder, 'verify.sql'), verify);
    }
  }

  async remove(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
  }
}
