/**
 * One scenario = a fresh database, a migrations folder written by the test, and a LocalExecutor
 * running the real ASL with the real handlers against it.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import { type LocalExecutionResult, LocalExecutor, type LocalExecutorOptions } from '../../local/executor';
import { adminUrl, freshDatabase, type TestDatabase } from '../helpers/database';

export type MigrationFiles = Record<string, { sql: string; rollback?: string; backfill?: unknown }>;

export class MigrationsFolder {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'mr-sm-migrations-'));

  constructor(migrations: MigrationFiles = {}) {
    writeFileSync(path.join(this.dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
    this.add(migrations);
  }

  add(migrations: MigrationFiles): this {
    for (const [name, files] of Object.entries(migrations)) {
      const folder = path.join(this.dir, name);
      mkdirSync(folder, { recursive: true });
      writeFileSync(path.join(folder, 'migration.sql'), files.sql);
      if (files.rollback !== undefined) writeFileSync(path.join(folder, 'rollback.sql'), files.rollback);
      if (files.backfill !== undefined) writeFileSync(path.join(folder, 'backfill.json'), JSON.stringify(files.backfill, null, 2));
    }
    return this;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Scenario {
  readonly db: TestDatabase;
  readonly folder: MigrationsFolder;
  readonly executor: LocalExecutor;
  /** A short-lived query on the scenario's database (never left open: snapshots need the template free). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<R[]>;
  dispose(): Promise<void>;
}

export async function scenario(migrations: MigrationFiles, options: Partial<LocalExecutorOptions> = {}): Promise<Scenario> {
  const db = await freshDatabase('mr_sm');
  const folder = new MigrationsFolder(migrations);
  const executor = new LocalExecutor({
    adminUrl: adminUrl(),
    database: db.name,
    migrationsDir: folder.dir,
    identifier: 'app-test',
    monitorMinutes: 0,
    ...options,
    environment: { BACKUP_MAX_AGE_MINUTES: '60', ...options.environment },
  });
  return {
    db,
    folder,
    executor,
    async query(sql, params, database) {
      const { Client: PgClient } = await import('pg');
      const url = new URL(adminUrl());
      url.pathname = `/${database ?? db.name}`;
      const client: Client = new PgClient({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    async dispose() {
      await executor.dispose();
      await db.drop();
      folder.remove();
    },
  };
}

/** Rows of _prisma_migrations, oldest first. */
export async function migrationRows(s: Scenario, database?: string): Promise<{ migration_name: string; finished_at: Date | null; rolled_back_at: Date | null; logs: string | null }[]> {
  return s.query('SELECT migration_name, finished_at, rolled_back_at, logs FROM _prisma_migrations ORDER BY started_at', [], database) as never;
}

export async function columnsOf(s: Scenario, table: string, database?: string): Promise<string[]> {
  const rows = await s.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position',
    [table],
    database,
  );
  return rows.map((r) => r.column_name);
}

export const INIT = {
  '20240101000000_init': {
    sql: 'CREATE TABLE "users" ("id" BIGSERIAL PRIMARY KEY, "email" TEXT NOT NULL, "legacy" TEXT);\nCREATE TABLE "audit_log" ("id" BIGSERIAL PRIMARY KEY, "entry" TEXT NOT NULL);\n',
  },
};

/** Asserts success; on failure the diff shows the error, cause and the last states. */
export function expectSucceeded(result: LocalExecutionResult): void {
  const summary = { status: result.status, error: result.error, cause: result.cause, lastStates: result.states.slice(-6) };
  expect(summary).toEqual(expect.objectContaining({ status: 'SUCCEEDED' }));
}
