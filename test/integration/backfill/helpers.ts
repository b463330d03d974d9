/** Shared set-up for the backfill integration tests: a fresh database per test and Db sessions on it. */
import { connect } from '../../../lambdas/adapters/pg';
import { definitionFromJson, type BackfillDefinition } from '../../../lambdas/core/backfill';
import type { OwnedDb } from '../../../lambdas/core/ports';
import { freshDatabase, type TestDatabase } from '../../helpers/database';

export interface Fixture {
  readonly database: TestDatabase;
  /** A Db session (the engine's), closed by cleanup(). */
  session(): Promise<OwnedDb>;
  cleanup(): Promise<void>;
}

export async function fixture(): Promise<Fixture> {
  const database = await freshDatabase('bf');
  const sessions: OwnedDb[] = [];
  return {
    database,
    async session() {
      const db = await connect(database.url, { applicationName: 'backfill-test' });
      sessions.push(db);
      return db;
    },
    async cleanup() {
      await Promise.all(sessions.map((s) => s.close()));
      await database.drop();
    },
  };
}

export function definition(json: Record<string, unknown>, name = 'test_backfill'): BackfillDefinition {
  return definitionFromJson(json, name);
}

/** Rows of a table as sorted JSON strings, for equality between two tables. */
export async function snapshot(db: OwnedDb, table: string, order: string): Promise<string[]> {
  const { rows } = await db.query<{ r: string }>(`SELECT row_to_json(t)::text AS r FROM ${table} t ORDER BY ${order}`);
  return rows.map((row) => row.r);
}
