/**
 * Lambda bounds one invocation to 15 minutes. An index build or a table rewrite that outlasts it
 * is killed with the function, its connection dropped and the statement aborted (leaving an
 * INVALID index for CONCURRENTLY): the deploy could never succeed from Lambda. Preflight estimates
 * each such statement from the table's size and says so before anything runs.
 */
import type { LongOperation } from '../contracts';
import type { LocalMigration } from '../migrations/folder';
import { splitSql } from '../migrations/sql';
import { parseLatestSync } from '../sql/parser';
import type { TableFacts } from './catalog';

/**
 * Conservative sustained rate of a build or rewrite on RDS storage (bytes per second). A
 * CONCURRENTLY build reads the table twice.
 */
export const BUILD_BYTES_PER_SECOND = 50 * 1024 * 1024;
/** The apply Lambda's timeout (seconds), minus a margin for connecting and bookkeeping. */
export const LAMBDA_BUDGET_SECONDS = 840;

function relationName(relation: unknown): string | undefined {
  const r = relation as { relname?: string; schemaname?: string } | undefined;
  if (!r?.relname) return undefined;
  return r.schemaname ? `${r.schemaname}.${r.relname}` : r.relname;
}

/**
 * Index builds (plain or CONCURRENTLY) and table rewrites (ALTER TABLE statements the linter says
 * rewrite) of pending migrations, with an estimated duration. Requires the PG 18 parser loaded
 * (preflight runs the linter first).
 */
export function longOperations(
  pending: readonly LocalMigration[],
  tables: Record<string, TableFacts>,
  rewriteLines: ReadonlyMap<string, ReadonlySet<number>>,
): LongOperation[] {
  const found: LongOperation[] = [];
  for (const migration of pending) {
    let statements;
    try {
      statements = splitSql(migration.sql, { fileName: migration.file, parse: parseLatestSync });
    } catch {
      continue; // a syntax error is reported by the linter
    }
    for (const statement of statements) {
      let table: string | undefined;
      let passes = 1;
      if (statement.nodeType === 'IndexStmt') {
        table = relationName(statement.node.relation);
        if (statement.node.concurrent) passes = 2;
      } else if (statement.nodeType === 'AlterTableStmt' && rewriteLines.get(migration.name)?.has(statement.line)) {
        table = relationName(statement.node.relation);
      }
      const bytes = table === undefined ? undefined : (tables[table] ?? tables[table.replace(/^public\./, '')])?.totalBytes;
      if (table === undefined || bytes === undefined || bytes === 0) continue;
      const estimatedSeconds = Math.round((bytes * passes) / BUILD_BYTES_PER_SECOND);
      found.push({ migration: migration.name, line: statement.line, table, tableBytes: bytes, estimatedSeconds, exceedsLambda: estimatedSeconds > LAMBDA_BUDGET_SECONDS });
    }
  }
  return found.sort((a, b) => b.estimatedSeconds - a.estimatedSeconds).slice(0, 20);
}
