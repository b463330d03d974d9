/**
 * backfill.json: the schema (parse step, no database) and the catalog checks (resolve step) that
 * turn an untrusted definition into a validated one. Both fail with BackfillDefinitionError naming
 * the field, before any row is touched.
 */
import { z } from 'zod';
import { BackfillDefinitionError } from '../errors';
import { loadParser, parseSync } from '../sql/parser';
import type { Db } from '../ports';
import { asDbError } from '../ports';
import { quoteIdent, quoteQualified } from '../quote';
import { explainBatchSql } from './statements';

const positiveInt = (max: number) => z.number().int().min(1).max(max);

const healthSchema = z.strictObject({
  /** Hold while any replica replays more than this far behind (pg_stat_replication). @default 30 */
  maxReplicationLagSeconds: z.number().positive().optional(),
  /** Hold while the server writes WAL faster than this (bytes/s); off when absent. */
  maxWalBytesPerSecond: z.number().positive().optional(),
  /** Hold while a transaction in this database has been open longer than this (it pins the xmin horizon). @default 300 */
  maxTransactionAgeSeconds: z.number().positive().optional(),
  /** Hold when this many of the last 10 batches hit lock_timeout (our statement keeps waiting on locks). @default 5 */
  maxLockTimeouts: positiveInt(10).optional(),
  /** Hold while autovacuum works on the table: never, only an anti-wraparound vacuum, or always. @default "wraparound" */
  autovacuum: z.enum(['never', 'wraparound', 'always']).optional(),
  /** How long a hold lasts before health is checked again. @default 30 */
  holdSeconds: positiveInt(3600).optional(),
  /** Health is sampled at most this often. @default 1000 */
  checkIntervalMs: positiveInt(600_000).optional(),
});

/** The raw JSON contract. Unknown keys are errors (a typo must not silently drop a limit). */
export const backfillJsonSchema = z.strictObject({
  /** Defaults to the migration folder's name. */
  name: z.string().min(1).max(200).optional(),
  /** Schema of the table; the session's search_path when absent. */
  schema: z.string().min(1).optional(),
  table: z.string().min(1),
  /** Column(s) of the primary key or of a unique index on NOT NULL columns, in index order. */
  key: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(8)]),
  /** Column -> SQL expression evaluated on the row. */
  set: z.record(z.string().min(1), z.string().min(1)).refine((s) => Object.keys(s).length > 0, { message: 'must set at least one column' }),
  /** SQL predicate: true for a row that still needs work. */
  where: z.string().min(1),
  /** Target duration of one batch statement. @default 200 */
  targetBatchMs: z.number().int().min(5).max(10_000).optional(),
  /** First batch size (rows; key units for integer ranges). @default 1000 */
  initialBatchSize: positiveInt(10_000_000).optional(),
  /** @default 1 */
  minBatchSize: positiveInt(10_000_000).optional(),
  /** @default 2000000 */
  maxBatchSize: positiveInt(100_000_000).optional(),
  /**
   * statement_timeout of a batch: the hard cap on one statement (a batch that would run longer is
   * cancelled, halved and retried). @default max(100, 1.2 x targetBatchMs): 240 for the default target, so a cancelled batch still ends within 250 ms
   */
  statementTimeoutMs: positiveInt(600_000).optional(),
  /** lock_timeout of a batch; must be below statementTimeoutMs. @default min(500, statementTimeoutMs / 2) */
  lockTimeoutMs: positiveInt(600_000).optional(),
  /**
   * Partitions of the key range walked at once in the main phase, each by its own session (when
   * the caller can open sessions: the CLI and the backfill Lambda can). @default 1
   */
  parallel: positiveInt(16).optional(),
  /**
   * statement_timeout of choosing where the `parallel` partitions are cut (a catalog read of the key's
   * histogram, else a bounded TABLESAMPLE read of about 20,000 keys). Separate from the batch cap:
   * the sample is read once, not per batch. @default 10000
   */
  sampleTimeoutMs: positiveInt(600_000).optional(),
  /** Fraction of wall time spent working; the rest is slept after each batch in proportion. @default 1 */
  dutyCycle: z.number().gt(0).max(1).optional(),
  /** A worker's lease lasts this long past its last batch. @default 60 */
  leaseSeconds: positiveInt(3600).optional(),
  /** "range" walks integer keys by value, "keyset" by `key > last ORDER BY key LIMIT n`. @default "auto" */
  strategy: z.enum(['auto', 'keyset', 'range']).optional(),
  health: healthSchema.optional(),
});
export type BackfillJson = z.infer<typeof backfillJsonSchema>;

export interface HealthLimits {
  readonly maxReplicationLagSeconds: number;
  readonly maxWalBytesPerSecond?: number;
  readonly maxTransactionAgeSeconds: number;
  readonly maxLockTimeouts: number;
  readonly autovacuum: 'never' | 'wraparound' | 'always';
  readonly holdSeconds: number;
  readonly checkIntervalMs: number;
}

/** A definition with every default resolved (no database facts yet). */
export interface BackfillDefinition {
  readonly name: string;
  readonly schema?: string;
  readonly table: string;
  readonly key: readonly string[];
  readonly set: Readonly<Record<string, string>>;
  readonly where: string;
  readonly targetBatchMs: number;
  readonly initialBatchSize: number;
  readonly minBatchSize: number;
  readonly maxBatchSize: number;
  readonly statementTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly parallel: number;
  readonly sampleTimeoutMs: number;
  readonly dutyCycle: number;
  readonly leaseSeconds: number;
  readonly strategy: 'auto' | 'keyset' | 'range';
  readonly health: HealthLimits;
}

function fail(field: string, message: string, source: string): never {
  throw new BackfillDefinitionError(`${source}: \`${field}\` ${message}`, { details: { field } });
}

/**
 * Parses and schema-checks backfill.json text; `fallbackName` (the migration's name) names the
 * backfill when the file does not. SQL fragments are parsed here too, so a typo in `where` fails
 * before any connection is opened. Requires nothing from the database.
 */
export async function parseBackfillDefinition(text: string, fallbackName: string, source = 'backfill.json'): Promise<BackfillDefinition> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new BackfillDefinitionError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  const definition = definitionFromJson(raw, fallbackName, source);
  await loadParser();
  checkSqlFragments(definition, source);
  return definition;
}

/** The schema step alone (synchronous; SQL fragments are not parsed). */
export function definitionFromJson(raw: unknown, fallbackName: string, source = 'backfill.json'): BackfillDefinition {
  const parsed = backfillJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const keys = (issue as { keys?: string[] }).keys;
    const path = [...issue.path.map(String), ...(issue.code === 'unrecognized_keys' && keys ? [keys[0]] : [])];
    const field = path.join('.') || '(root)';
    const message = issue.code === 'unrecognized_keys' ? 'is not a known key' : issue.message;
    fail(field, message, source);
  }
  const json = parsed.data;
  const key = typeof json.key === 'string' ? [json.key] : json.key;
  if (new Set(key).size !== key.length) fail('key', 'names a column twice', source);
  for (const column of Object.keys(json.set)) {
    if (key.includes(column)) fail(`set.${column}`, 'cannot change a key column (the cursor walks the key)', source);
  }
  const targetBatchMs = json.targetBatchMs ?? 200;
  const minBatchSize = json.minBatchSize ?? 1;
  const maxBatchSize = json.maxBatchSize ?? 2_000_000;
  if (minBatchSize > maxBatchSize) fail('minBatchSize', `must not exceed maxBatchSize (${maxBatchSize})`, source);
  const initialBatchSize = json.initialBatchSize ?? Math.min(Math.max(1000, minBatchSize), maxBatchSize);
  if (initialBatchSize < minBatchSize || initialBatchSize > maxBatchSize) {
    fail('initialBatchSize', `must be between minBatchSize (${minBatchSize}) and maxBatchSize (${maxBatchSize})`, source);
  }
  const statementTimeoutMs = json.statementTimeoutMs ?? Math.max(100, Math.round(1.2 * targetBatchMs));
  const lockTimeoutMs = json.lockTimeoutMs ?? Math.min(500, Math.floor(statementTimeoutMs / 2));
  // A lock wait must end as a lock timeout (contention: a hold), not as a statement timeout (slow work: failure).
  if (lockTimeoutMs >= statementTimeoutMs) fail('lockTimeoutMs', `must be below statementTimeoutMs (${statementTimeoutMs})`, source);
  const health = json.health ?? {};
  return {
    name: json.name ?? fallbackName,
    ...(json.schema === undefined ? {} : { schema: json.schema }),
    table: json.table,
    key,
    set: json.set,
    where: json.where,
    targetBatchMs,
    initialBatchSize,
    minBatchSize,
    maxBatchSize,
    statementTimeoutMs,
    lockTimeoutMs,
    parallel: json.parallel ?? 1,
    sampleTimeoutMs: json.sampleTimeoutMs ?? 10_000,
    dutyCycle: json.dutyCycle ?? 1,
    leaseSeconds: json.leaseSeconds ?? 60,
    strategy: json.strategy ?? 'auto',
    health: {
      maxReplicationLagSeconds: health.maxReplicationLagSeconds ?? 30,
      ...(health.maxWalBytesPerSecond === undefined ? {} : { maxWalBytesPerSecond: health.maxWalBytesPerSecond }),
      maxTransactionAgeSeconds: health.maxTransactionAgeSeconds ?? 300,
      maxLockTimeouts: health.maxLockTimeouts ?? 5,
      autovacuum: health.autovacuum ?? 'wraparound',
      holdSeconds: health.holdSeconds ?? 30,
      checkIntervalMs: health.checkIntervalMs ?? 1000,
    },
  };
}

/**
 * `where` and each `set` value must be one expression: they are pasted into our statements, so
 * we parse them inside a fixed frame and reject anything that escapes it (a `)` followed by more
 * SQL, a second statement, a set operation). Requires loadParser().
 */
export function checkSqlFragments(definition: BackfillDefinition, source = 'backfill.json'): void {
  checkExpression(definition.where, 'where', source);
  for (const [column, expression] of Object.entries(definition.set)) checkExpression(expression, `set.${column}`, source);
}

function checkExpression(expression: string, field: string, source: string): void {
  let tree: { stmts?: { stmt: Record<string, Record<string, unknown>> }[] };
  try {
    tree = parseSync(`SELECT 1 WHERE (${expression}\n)`) as typeof tree;
  } catch (error) {
    const message = (error as { sqlDetails?: { message?: string } }).sqlDetails?.message ?? (error as Error).message;
    fail(field, `does not parse as a SQL expression: ${message}`, source);
  }
  const stmts = tree.stmts ?? [];
  const select = stmts.length === 1 ? stmts[0].stmt.SelectStmt : undefined;
  const allowed = new Set(['targetList', 'whereClause', 'limitOption', 'op']);
  if (!select || select.op !== 'SETOP_NONE' || Object.keys(select).some((k) => !allowed.has(k))) {
    fail(field, 'must be a single SQL expression', source);
  }
}

export interface KeyColumn {
  readonly name: string;
  /** format_type() of the column, e.g. "bigint", "uuid". */
  readonly type: string;
}

/** A definition checked against the catalog: the table, its key and the columns exist and fit. */
export interface ResolvedBackfill {
  readonly definition: BackfillDefinition;
  /** Quoted, schema-qualified table name for our statements. */
  readonly tableSql: string;
  readonly relationOid: number;
  /** 'r' plain table, 'p' partitioned (walked by key only: block numbers are per partition). */
  readonly relationKind: 'r' | 'p';
  readonly keyColumns: readonly KeyColumn[];
  /** "range" only for one integer key column. */
  readonly strategy: 'keyset' | 'range';
  /**
   * Whether batches need the replay guard `(set columns) IS DISTINCT FROM (set values)`. Not when
   * `where` requires a set column to be NULL (`col IS NULL AND ...`, the usual backfill): a row
   * that matches `where` then differs from its new values unless that value is NULL too, and such a
   * row would still match `where` after its update, which fails the batch anyway. `where` alone
   * then makes a replayed batch change nothing, and each row's expressions are evaluated once.
   */
  readonly replayGuard: boolean;
}

/** Top-level AND conjuncts of `where` that are `column IS NULL` on one of `columns` (unqualified or qualified by the table). */
export function whereRequiresNull(where: string, columns: readonly string[], table: string): string[] {
  const tree = parseSync(`SELECT 1 WHERE (${where}\n)`) as { stmts: { stmt: { SelectStmt: { whereClause?: unknown } } }[] };
  const conjuncts: unknown[] = [];
  const flatten = (node: unknown): void => {
    const bool = (node as { BoolExpr?: { boolop: string; args: unknown[] } }).BoolExpr;
    if (bool?.boolop === 'AND_EXPR') bool.args.forEach(flatten);
    else conjuncts.push(node);
  };
  flatten(tree.stmts[0]?.stmt.SelectStmt.whereClause);
  const found: string[] = [];
  for (const node of conjuncts) {
    const test = (node as { NullTest?: { nulltesttype: string; arg: { ColumnRef?: { fields: { String?: { sval: string } }[] } } } }).NullTest;
    const fields = test?.nulltesttype === 'IS_NULL' ? test.arg.ColumnRef?.fields.map((f) => f.String?.sval) : undefined;
    if (!fields || fields.length > 3 || fields.some((f) => f === undefined)) continue;
    const column = fields[fields.length - 1] as string;
    if (fields.length > 1 && fields[fields.length - 2] !== table) continue;
    if (columns.includes(column)) found.push(column);
  }
  return found;
}

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

/**
 * Checks the definition against the database: table, key (NOT NULL columns covered by a valid
 * unique btree index in that order), `set` columns, and that every expression type-checks
 * (EXPLAIN, which plans without executing). Takes no lock longer than lockTimeoutMs.
 */
export async function resolveBackfill(db: Db, definition: BackfillDefinition, source = 'backfill.json'): Promise<ResolvedBackfill> {
  await loadParser();
  checkSqlFragments(definition, source);
  const tableSql = definition.schema ? quoteQualified(definition.schema, definition.table) : quoteIdent(definition.table);
  const rel = await db.query<{ oid: number | null; kind: 'r' | 'p' | null; schema: string | null }>(
    `SELECT c.oid::int AS oid, c.relkind::text AS kind, n.nspname AS schema
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
    [tableSql],
  );
  const relation = rel.rows[0];
  if (!relation?.oid) fail('table', `names no table: ${tableSql} does not exist${definition.schema ? '' : ' on the search_path'}`, source);
  if (relation.kind !== 'r' && relation.kind !== 'p') fail('table', `${tableSql} is not a table`, source);
  const qualified = quoteQualified(relation.schema as string, definition.table);

  const cols = await db.query<{ name: string; type: string; notnull: boolean }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS notnull
       FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped`,
    [relation.oid],
  );
  const byName = new Map(cols.rows.map((c) => [c.name, c]));
  const keyColumns = definition.key.map((name) => {
    const column = byName.get(name);
    if (!column) fail('key', `names column "${name}", which ${qualified} does not have`, source);
    if (!column.notnull) fail('key', `column "${name}" is nullable: rows with a NULL key would be skipped`, source);
    return { name, type: column.type };
  });
  const unique = await db.query<{ ok: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
        WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
          AND am.amname = 'btree' AND i.indnkeyatts = $2
          AND (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(i.indkey[0:$2 - 1]) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) = $3::name[]) AS ok`,
    [relation.oid, keyColumns.length, keyColumns.map((k) => k.name)],
  );
  if (!unique.rows[0]?.ok) {
    fail('key', `(${definition.key.join(', ')}) is not the primary key or a valid unique btree index of ${qualified}, in that column order`, source);
  }
  for (const column of Object.keys(definition.set)) {
    if (!byName.has(column)) fail(`set.${column}`, `names column "${column}", which ${qualified} does not have`, source);
  }

  // Type-check each fragment on its own so the error names the field. EXPLAIN plans, never runs.
  await explain(db, `EXPLAIN SELECT 1 FROM ${qualified} WHERE (${definition.where}\n) IS TRUE`, 'where', definition, source);
  for (const [column, expression] of Object.entries(definition.set)) {
    await explain(db, `EXPLAIN UPDATE ${qualified} SET ${quoteIdent(column)} = (${expression}\n) WHERE false`, `set.${column}`, definition, source);
  }

  // The replay guard compares old and new values: a column type without `=` (json, point) fails here.
  await explain(db, explainBatchSql({ definition, tableSql: qualified, relationOid: relation.oid, relationKind: relation.kind, keyColumns, strategy: 'keyset', replayGuard: true }), 'set', definition, source);
  const replayGuard = whereRequiresNull(definition.where, Object.keys(definition.set), definition.table).length === 0;

  let strategy: 'keyset' | 'range';
  const integerKey = keyColumns.length === 1 && INTEGER_TYPES.has(keyColumns[0].type);
  if (definition.strategy === 'range') {
    if (!integerKey) fail('strategy', '"range" needs a single integer key column (smallint, integer or bigint)', source);
    strategy = 'range';
  } else {
    strategy = definition.strategy === 'auto' && integerKey ? 'range' : 'keyset';
  }
  return { definition, tableSql: qualified, relationOid: relation.oid, relationKind: relation.kind, keyColumns, strategy, replayGuard };
}

async function explain(db: Db, sql: string, field: string, definition: BackfillDefinition, source: string): Promise<void> {
  // Planning an UPDATE takes ROW EXCLUSIVE on the table: never queue behind DDL for long.
  await db.query(`BEGIN; SET LOCAL lock_timeout = ${Math.floor(definition.lockTimeoutMs)}`);
  try {
    await db.query(sql);
  } catch (error) {
    const e = asDbError(error);
    if (e.code === '55P03') fail(field, `could not be checked: the table is locked (${e.message})`, source);
    fail(field, `is not valid for this table: ${e.message}`, source);
  } finally {
    await db.query('ROLLBACK').catch(() => undefined);
  }
}
