/**
 * The `_prisma_migrations` table, read and written exactly as Prisma's schema engine does
 * (see shared/design/prisma-protocol.md). The name is unqualified: it lives in the first schema of
 * the search_path, like Prisma's.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../ports';
import { quoteLiteral } from '../quote';

export const MIGRATIONS_TABLE = '_prisma_migrations';
/** Prisma's advisory lock key. */
export const ADVISORY_LOCK_KEY = 72707369;

export const CREATE_TABLE_SQL = `CREATE TABLE "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);`;

export interface MigrationRow {
  readonly id: string;
  readonly checksum: string;
  readonly finishedAt: Date | null;
  readonly migrationName: string;
  readonly logs: string | null;
  readonly rolledBackAt: Date | null;
  readonly startedAt: Date;
  readonly appliedStepsCount: number;
}

export async function tableExists(db: Db): Promise<boolean> {
  const { rows } = await db.query<{ exists: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('r', 'p')) AS exists`,
    [MIGRATIONS_TABLE],
  );
  return rows[0].exists;
}

/** All rows, oldest first, or null when the table does not exist. */
export async function readRows(db: Db): Promise<MigrationRow[] | null> {
  if (!(await tableExists(db))) return null;
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT "id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count"
       FROM "_prisma_migrations" ORDER BY "started_at" ASC`,
  );
  return rows.map((r) => ({
    id: r.id as string,
    checksum: r.checksum as string,
    finishedAt: (r.finished_at as Date | null) ?? null,
    migrationName: r.migration_name as string,
    logs: (r.logs as string | null) ?? null,
    rolledBackAt: (r.rolled_back_at as Date | null) ?? null,
    startedAt: r.started_at as Date,
    appliedStepsCount: Number(r.applied_steps_count),
  }));
}

/** Ordinary tables in the current schema that make it "not empty" for P3005. */
export async function userTables(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ relname: string }>(
    `SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND c.relname NOT IN ('spatial_ref_sys', '_prisma_migrations')
      ORDER BY c.relname`,
  );
  return rows.map((r) => r.relname);
}

/** A row that is neither finished nor rolled back: failed, or interrupted while running. */
export function isFailed(row: MigrationRow): boolean {
  return row.finishedAt === null && row.rolledBackAt === null;
}

/**
 * INSERT of the "started" row. Sent as one simple query with literals we generated ourselves so it
 * can commit asynchronously: the migration's own (synchronous) commit that follows flushes it, and
 * other sessions see it at once either way. Saves one fsync per migration.
 */
export function startedRowSql(id: string, checksum: string, name: string, startedAt: Date): string {
  return `BEGIN; SET LOCAL synchronous_commit = off; INSERT INTO "_prisma_migrations" ("id", "checksum", "started_at", "migration_name") VALUES (${quoteLiteral(id)}, ${quoteLiteral(checksum)}, ${quoteLiteral(startedAt.toISOString())}, ${quoteLiteral(name)}); COMMIT`;
}

/** Success: Prisma's two updates (steps + 1, finished_at) as one statement with the same result. */
export function finishedRowSql(id: string, finishedAt: Date): string {
  return `UPDATE "_prisma_migrations" SET "applied_steps_count" = "applied_steps_count" + 1, "finished_at" = ${quoteLiteral(finishedAt.toISOString())} WHERE "id" = ${quoteLiteral(id)}`;
}

export async function recordFailure(db: Db, id: string, logs: string): Promise<void> {
  await db.query(`UPDATE "_prisma_migrations" SET "logs" = $1 WHERE "id" = $2`, [logs, id]);
}

export async function markRolledBack(db: Db, name: string, at: Date): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE "_prisma_migrations" SET "rolled_back_at" = $1 WHERE "migration_name" = $2 AND "finished_at" IS NULL AND "rolled_back_at" IS NULL`,
    [at, name],
  );
  return rowCount;
}

/** resolve --applied: a finished row with empty logs and zero steps, as Prisma writes it. */
export async function insertAppliedRow(db: Db, name: string, checksum: string, at: Date): Promise<void> {
  await db.query(
    `INSERT INTO "_prisma_migrations" ("id", "checksum", "started_at", "finished_at", "migration_name", "logs") VALUES ($1, $2, $3, $3, $4, '')`,
    [randomUUID(), checksum, at, name],
  );
}

export function newMigrationId(): string {
  return randomUUID();
}
