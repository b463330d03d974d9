/**
 * Live catalog facts for the linter: estimated rows and total size of each user table, so a plain
 * CREATE INDEX on a 40-row lookup table is not "dangerous" and one on a 50M-row table is named
 * with its size.
 *
 * Read from pg_class only (reltuples, relpages of the table, its indexes and TOAST), which takes
 * no lock: pg_total_relation_size() would wait behind any ACCESS EXCLUSIVE lock on a table, and
 * preflight must answer precisely when something is stuck. A table never vacuumed or analyzed
 * (reltuples -1) has no row estimate and keeps its rule's full severity.
 */
import type { Db } from '../ports';

export interface TableFacts {
  readonly rowEstimate?: number;
  readonly totalBytes?: number;
}

/** More tables than this and the rest are left to the offline schema model. */
const MAX_TABLES = 20_000;

const CATALOG_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS rows,
       ((c.relpages
         + coalesce((SELECT sum(i.relpages) FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), 0)
         + coalesce((SELECT t.relpages FROM pg_catalog.pg_class t WHERE t.oid = c.reltoastrelid), 0)
        )::float8 * current_setting('block_size')::int) AS bytes,
       n.nspname = current_schema() AS in_search_path
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
 ORDER BY c.reltuples DESC
 LIMIT ${MAX_TABLES}`;

/** Keyed by "schema.table", and by bare name for tables of the current schema (how migrations name them). */
export async function readCatalogFacts(db: Db): Promise<Record<string, TableFacts>> {
  const { rows } = await db.query<{ schema: string; name: string; rows: number; bytes: number; in_search_path: boolean }>(CATALOG_SQL);
  const tables: Record<string, TableFacts> = {};
  for (const row of rows) {
    const facts: TableFacts = { ...(row.rows >= 0 ? { rowEstimate: Math.round(row.rows) } : {}), totalBytes: row.bytes };
    tables[`${row.schema}.${row.name}`] = facts;
    if (row.in_search_path) tables[row.name] = facts;
  }
  return tables;
}
