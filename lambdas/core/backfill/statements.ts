/**
 * SQL text of the engine's statements, built from a resolved definition. Identifiers are always
 * quoted; key values travel as bind parameters (text, typed by the column they are compared to).
 */
import type { ResolvedBackfill } from './definition';
import { STATE_SQL } from './state';
import { quoteIdent } from '../quote';

function keyList(resolved: ResolvedBackfill): string {
  return resolved.keyColumns.map((k) => quoteIdent(k.name)).join(', ');
}

/** The key columns as text, named mr_k0, mr_k1, ... (never like the column: ORDER BY would sort the text). */
function keyText(resolved: ResolvedBackfill): string {
  return resolved.keyColumns.map((k, i) => `${quoteIdent(k.name)}::text AS mr_k${i}`).join(', ');
}

/** A key read back from a row selected with keyText(). */
export function keyOf(resolved: ResolvedBackfill, row: Record<string, unknown>): string[] {
  return resolved.keyColumns.map((_, i) => String(row[`mr_k${i}`]));
}

/**
 * For statements with params `from... (if hasFrom), upper...`: the `key > from` condition (empty
 * without from) and the number of the first upper-bound param.
 */
function afterFrom(resolved: ResolvedBackfill, hasFrom: boolean): { after: string; upperParam: number } {
  return hasFrom ? { after: compare(resolved, '>', 1), upperParam: 1 + resolved.keyColumns.length } : { after: '', upperParam: 1 };
}

/** The state-row assignment that advances a lane's cursor to param $`param`: the row's own for lane 0, parts[lane - 1]'s otherwise. */
export function cursorAssignment(lane: number, param: number): string {
  return lane === 0 ? `cursor = $${param}::text[]` : `parts = jsonb_set(parts, '{${Math.floor(lane) - 1},cursor}', to_jsonb($${param}::text[]))`;
}

/** `(k1, k2) > ($3, $4)`: a row comparison a btree index on (k1, k2) can scan. */
function compare(resolved: ResolvedBackfill, op: '>' | '<=', firstParam: number): string {
  const keys = resolved.keyColumns.map((k) => quoteIdent(k.name));
  const params = keys.map((_, i) => `$${firstParam + i}`);
  return keys.length === 1 ? `${keys[0]} ${op} ${params[0]}` : `(${keys.join(', ')}) ${op} (${params.join(', ')})`;
}

/** Predicate for the key range (from, to]; `from` null means from the first key. Parameters start at `first`. */
export function rangePredicate(resolved: ResolvedBackfill, hasFrom: boolean, first: number): { sql: string; next: number } {
  const n = resolved.keyColumns.length;
  if (!hasFrom) return { sql: compare(resolved, '<=', first), next: first + n };
  return { sql: `${compare(resolved, '>', first)} AND ${compare(resolved, '<=', first + n)}`, next: first + 2 * n };
}

/**
 * How the current phase walks the table: by key, or (verify on a plain table) by heap block
 * ranges, which reads pages in order without the index: after the main pass every row has a dead
 * old version, and an index walk would fetch both.
 */
export type Walk = 'keys' | 'blocks';

/** Blocks [from, to) by TID range (a TID Range Scan, PostgreSQL 14+). Params: from tid, to tid. */
export function blockPredicate(first: number): { sql: string; next: number } {
  return { sql: `ctid >= $${first}::tid AND ctid < $${first + 1}::tid`, next: first + 2 };
}

/** Number of heap blocks of the table now. */
export const BLOCKS_SQL = `SELECT (pg_relation_size($1::oid) / current_setting('block_size')::bigint)::text AS blocks`;

/**
 * Keyset walk: the last key of the next `limit` keys after `from` (up to the bound) and how many
 * there are. Read-only, reads the key index only. Params: from..., upper..., limit.
 */
export function nextKeysetBoundSql(resolved: ResolvedBackfill, hasFrom: boolean): string {
  const keys = keyList(resolved);
  const n = resolved.keyColumns.length;
  const desc = resolved.keyColumns.map((k) => `${quoteIdent(k.name)} DESC`).join(', ');
  // The upper bound is applied outside the LIMIT: with one open-ended condition inside, the plan is
  // an index scan that stops after `limit` keys even when the table has no statistics yet (a
  // closed range can be misestimated as tiny and planned as bitmap scan + sort of the whole range).
  const { after, upperParam } = afterFrom(resolved, hasFrom);
  return `SELECT ${keyText(resolved)}, count(*) OVER ()::int AS mr_count FROM (
  SELECT ${keys} FROM ${resolved.tableSql} ${after ? `WHERE ${after} ` : ''}ORDER BY ${keys} LIMIT $${upperParam + n}
) mr_batch WHERE ${compare(resolved, '<=', upperParam)} ORDER BY ${desc} LIMIT 1`;
}

function setList(resolved: ResolvedBackfill): { assignments: string; guard: string } {
  const entries = Object.entries(resolved.definition.set);
  const assignments = entries.map(([column, expression]) => `${quoteIdent(column)} = (${expression}\n)`).join(', ');
  const columns = entries.map(([column]) => quoteIdent(column));
  const values = entries.map(([, expression]) => `(${expression}\n)`);
  // A replayed batch must change nothing: rows already holding the values are skipped.
  const guard = `(${columns.join(', ')}) IS DISTINCT FROM (${values.join(', ')})`;
  return { assignments, guard };
}

/** The guard on its own, for EXPLAIN at validation (a column type without `=` fails there); always with the guard. */
export function explainBatchSql(resolved: ResolvedBackfill): string {
  const { assignments, guard } = setList(resolved);
  return `EXPLAIN UPDATE ${resolved.tableSql} SET ${assignments} WHERE (${resolved.definition.where}\n) AND ${guard}`;
}

/**
 * One batch, run inside BEGIN ... COMMIT: updates the rows of (from, to] that still need work and
 * advances the state row in the same transaction, so a crash loses at most this batch (which rolls
 * back). The state row is updated only while this worker holds the lease and the backfill is
 * running (re-checked on the row's latest version); when it is not, the statement returns no row
 * and the caller rolls the batch back: a pause or cancel stops the next batch. The lease is read
 * without a row lock so that partitions walked at once only meet on the state row at the end.
 *
 * `lane` 0 advances the row's `cursor`; lane k >= 1 advances `parts[k - 1].cursor`.
 *
 * With `countLeft` (verify phase) it also counts the rows of the range that still match `where`
 * afterwards, including rows the replay guard skipped because `set` leaves them as they are. That
 * takes a second scan of the range, needed only with the guard: without it every row matching
 * `where` is updated, so the rows left matching are the updated rows that still match.
 *
 * Params: $1 name, $2 owner, then from... (if any), to..., then cursor (text[]), units walked,
 * batch size, ms per unit, active ms to add, lease seconds.
 */
export function batchSql(resolved: ResolvedBackfill, hasFrom: boolean, countLeft = false, walk: Walk = 'keys', lane = 0): { sql: string; stateParams: number } {
  const range = walk === 'blocks' ? blockPredicate(3) : rangePredicate(resolved, hasFrom, 3);
  const { assignments, guard } = setList(resolved);
  const where = resolved.definition.where;
  const p = range.next;
  countLeft = countLeft && resolved.replayGuard;
  const sql = `WITH mr_lease AS (
  SELECT name FROM ${STATE_SQL} WHERE name = $1 AND lease_owner = $2 AND status = 'running'
), mr_changed AS (
  UPDATE ${resolved.tableSql} SET ${assignments}
   WHERE ${range.sql} AND (${where}\n)${resolved.replayGuard ? ` AND ${guard}` : ''} AND EXISTS (SELECT 1 FROM mr_lease)
  RETURNING ((${where}\n) IS TRUE) AS mr_still
), mr_counts AS (
  SELECT count(*) AS changed, count(*) FILTER (WHERE mr_still) AS still${
    countLeft
      ? `,
         (SELECT count(*) FROM ${resolved.tableSql} WHERE ${range.sql} AND (${where}\n) AND EXISTS (SELECT 1 FROM mr_lease)) AS matching`
      : ''
  }
    FROM mr_changed
)
UPDATE ${STATE_SQL} s SET ${cursorAssignment(lane, p)},
       rows_done = s.rows_done + c.changed,
       rows_still_matching = s.rows_still_matching + ${
         countLeft
           ? // Verify: rows that matched before this statement (its snapshot) minus those it finished.
             'c.matching - (c.changed - c.still)'
           : 'c.still'
       },
       rows_scanned = s.rows_scanned + $${p + 1}::bigint,
       batches = s.batches + 1,
       batch_size = $${p + 2}::bigint,
       ms_per_unit = $${p + 3}::float8,
       active_ms = s.active_ms + $${p + 4}::float8,
       lease_expires_at = now() + make_interval(secs => $${p + 5}::float8),
       updated_at = now()
  FROM mr_counts c WHERE s.name = $1 AND s.lease_owner = $2 AND s.status = 'running'
RETURNING c.changed::int AS changed, c.still::int AS still, s.rows_still_matching::int AS left`;
  return { sql, stateParams: p };
}

/**
 * Keys sampled from about `percent` % of the table's pages (TABLESAMPLE SYSTEM: cheap on any
 * size), within (from, upper], in key order: the cut points of parallel partitions.
 * Params: from... (if any), upper..., percent.
 */
export function sampleKeysSql(resolved: ResolvedBackfill, hasFrom: boolean): string {
  const { after, upperParam } = afterFrom(resolved, hasFrom);
  return `SELECT ${keyText(resolved)} FROM ${resolved.tableSql} TABLESAMPLE SYSTEM ($${upperParam + resolved.keyColumns.length}::float4)
 WHERE ${after ? `${after} AND ` : ''}${compare(resolved, '<=', upperParam)} ORDER BY ${keyList(resolved)}`;
}

/** Smallest and largest key (text, as mr_k0, mr_k1, ...: never named like the column, or ORDER BY would sort the text), for frozen bounds. */
export function boundsSql(resolved: ResolvedBackfill, direction: 'ASC' | 'DESC'): string {
  const order = resolved.keyColumns.map((k) => `${quoteIdent(k.name)} ${direction}`).join(', ');
  return `SELECT ${keyText(resolved)} FROM ${resolved.tableSql} ORDER BY ${order} LIMIT 1`;
}

/**
 * Cut-point candidates for parallel partitions from the planner's statistics, without reading the
 * table: the histogram bounds ANALYZE keeps for the (single) key column in pg_stats, within
 * (from, upper], in key order. The bounds are equi-depth, so consecutive ones hold about as many
 * rows each. Empty when the column has no histogram (never analyzed, or too few distinct values).
 * Params: relation oid, column name, from (if any), upper.
 */
export function histogramKeysSql(resolved: ResolvedBackfill, hasFrom: boolean): string {
  const [key] = resolved.keyColumns;
  const typed = `mr_b::${key.type}`;
  return `SELECT mr_b AS mr_k0 FROM (
  SELECT s.histogram_bounds::text::text[] AS mr_bounds
    FROM pg_stats s JOIN pg_namespace n ON n.nspname = s.schemaname JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
   WHERE c.oid = $1 AND s.attname = $2 AND s.histogram_bounds IS NOT NULL
   ORDER BY s.inherited DESC LIMIT 1
) mr_h, unnest(mr_h.mr_bounds) mr_b
 WHERE ${hasFrom ? `${typed} > $3::${key.type} AND ` : ''}${typed} <= $${hasFrom ? 4 : 3}::${key.type} ORDER BY ${typed}`;
}
