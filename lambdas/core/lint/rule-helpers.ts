/** Knowledge several rules share: volatile functions, binary-coercible type changes, SQL snippets. */
import { alterCmds, columnConstraints, relationName, typeRef, unwrap, walk, type Node, type TypeRef } from './ast';
import { quoteIdent, quoteQualified } from '../quote';
import type { Rule, RuleContext } from './types';

/** Identity, so each rule file reads as a declaration checked against Rule. */
export function defineRule(rule: Rule): Rule {
  return rule;
}

/**
 * Functions whose result is fixed for the statement (immutable or stable): a DEFAULT of them is
 * evaluated once and stored in the catalog (PostgreSQL 11+ "fast default"), so no rewrite. Any other
 * function call, including an unknown user function, is treated as volatile: fail closed.
 */
const NON_VOLATILE = new Set([
  'now',
  'transaction_timestamp',
  'statement_timestamp',
  'current_setting',
  'lower',
  'upper',
  'concat',
  'concat_ws',
  'length',
  'abs',
  'round',
  'to_jsonb',
  'to_json',
  'jsonb_build_object',
  'json_build_object',
  'jsonb_build_array',
  'json_build_array',
  'array_fill',
  'make_interval',
  'make_date',
  'to_timestamp',
  'to_date',
  'date_trunc',
  'timezone',
  'md5',
]);

/** The volatile function names an expression calls (empty when none). */
export function volatileCalls(expr: unknown): string[] {
  const found: string[] = [];
  walk(expr, (kind, node: Node) => {
    if (kind === 'FuncCall') {
      const parts = ((node.funcname as Node[] | undefined) ?? []).map((n) => ((n.String as Node | undefined)?.sval as string) ?? '');
      const name = parts[parts.length - 1]?.toLowerCase() ?? '';
      if (!NON_VOLATILE.has(name)) found.push(name);
    }
  });
  return found;
}

const SERIAL_TYPES = new Set(['serial', 'bigserial', 'smallserial', 'serial2', 'serial4', 'serial8']);
export function isSerial(t: TypeRef | undefined): boolean {
  return t !== undefined && SERIAL_TYPES.has(t.name);
}

const TEXT_LIKE = new Set(['text', 'varchar']);
const PRECISION_TYPES = new Set(['timestamp', 'timestamptz', 'time', 'timetz', 'interval']);

/**
 * Whether `from -> to` is binary-coercible without a table rewrite or a scan (PostgreSQL's
 * ATColumnChangeRequiresRewrite cases that are safe): varchar widening and to text/unbounded,
 * numeric precision up at the same scale, cidr -> inet, time precision up, varbit widening.
 * Returns a reason when it is, undefined when it is not (or cannot be proven).
 */
export function coercibleReason(from: TypeRef | undefined, to: TypeRef): string | undefined {
  if (!from || from.array !== to.array) return undefined;
  if (from.name === to.name && from.mods.join() === to.mods.join()) return 'same type';
  if (TEXT_LIKE.has(from.name) && to.name === 'text') return `${from.name} to text`;
  if (from.name === 'text' && to.name === 'varchar' && to.mods.length === 0) return 'text to unbounded varchar';
  if (from.name === 'varchar' && to.name === 'varchar') {
    if (to.mods.length === 0) return 'varchar to unbounded varchar';
    if (from.mods.length && to.mods[0] >= from.mods[0]) return `varchar(${from.mods[0]}) widened to varchar(${to.mods[0]})`;
    return undefined;
  }
  if ((from.name === 'varbit' || from.name === 'bit varying') && from.name === to.name) {
    if (to.mods.length === 0 || (from.mods.length && to.mods[0] >= from.mods[0])) return 'varbit widened';
    return undefined;
  }
  if (from.name === 'numeric' && to.name === 'numeric') {
    if (to.mods.length === 0) return 'numeric to unconstrained numeric';
    if (from.mods.length && to.mods[0] >= from.mods[0] && (to.mods[1] ?? 0) === (from.mods[1] ?? 0)) return 'numeric precision increased at the same scale';
    return undefined;
  }
  if (from.name === 'cidr' && to.name === 'inet') return 'cidr to inet';
  if (PRECISION_TYPES.has(from.name) && from.name === to.name) {
    if (to.mods.length === 0 || (from.mods.length && to.mods[0] >= from.mods[0])) return `${from.name} precision increased`;
  }
  return undefined;
}

export const LOCK_TIMEOUT_HINT = "SET lock_timeout = '3s'; (our apply sets it for you and retries)";

/** "public.users" -> "public"."users": identifiers in suggested SQL are always quoted. */
export function sqlName(qualified: string): string {
  const dot = qualified.indexOf('.');
  return dot < 0 ? quoteIdent(qualified) : quoteQualified(qualified.slice(0, dot), qualified.slice(dot + 1));
}
export { quoteIdent };

/** The three-step NOT NULL recipe (PostgreSQL 12+). */
export function notNullRecipe(table: string, column: string): string {
  const t = sqlName(table);
  const c = quoteIdent(`${table.split('.').pop()}_${column}_not_null`);
  const col = quoteIdent(column);
  return (
    `ALTER TABLE ${t} ADD CONSTRAINT ${c} CHECK (${col} IS NOT NULL) NOT VALID; ` +
    `-- next migration (after a backfill barrier if rows are NULL): ALTER TABLE ${t} VALIDATE CONSTRAINT ${c}; ` +
    `-- next migration: ALTER TABLE ${t} ALTER COLUMN ${col} SET NOT NULL; ALTER TABLE ${t} DROP CONSTRAINT ${c}; ` +
    `(PostgreSQL 12+ skips the scan when a validated CHECK proves it)`
  );
}

/** The table and sub-commands of an ALTER TABLE statement, or undefined for any other statement. */
export function alterTableOf(ctx: RuleContext): { table: string; cmds: Node[] } | undefined {
  if (ctx.stmt.nodeType !== 'AlterTableStmt' || ctx.node.objtype === 'OBJECT_INDEX') return undefined;
  // Many rules ask for the same statement: unwrap it once.
  let cached = alterCache.get(ctx.node);
  if (!cached) {
    cached = { table: relationName(ctx.node.relation), cmds: alterCmds(ctx.node) };
    alterCache.set(ctx.node, cached);
  }
  return cached;
}
const alterCache = new WeakMap<object, { table: string; cmds: Node[] }>();

export interface ColumnTypeChange {
  readonly table: string;
  readonly column: string;
  /** The ALTER COLUMN ... TYPE definition (raw_default = USING, collClause = COLLATE). */
  readonly def: Node;
  readonly to: TypeRef | undefined;
  /** The column's type from the replayed schema, when the history shows it. */
  readonly from: TypeRef | undefined;
}

/** ALTER COLUMN ... TYPE changes on a table that existed before this migration. */
export function columnTypeChanges(ctx: RuleContext): ColumnTypeChange[] {
  const at = alterTableOf(ctx);
  if (!at || ctx.isNewTable(at.table)) return [];
  return at.cmds
    .filter((c) => c.subtype === 'AT_AlterColumnType')
    .map((cmd) => {
      const column = cmd.name as string;
      const def = unwrap(cmd.def, 'ColumnDef') as Node;
      return { table: at.table, column, def, to: typeRef(def.typeName), from: ctx.table(at.table)?.columns.get(column)?.type };
    });
}
const addedCache = new WeakMap<object, AddedColumn[]>();

export interface AddedColumn {
  readonly table: string;
  readonly name: string;
  readonly type: TypeRef | undefined;
  readonly constraints: Node[];
  readonly def: Node;
}

/** ADD COLUMN sub-commands on a table that existed before this migration. */
export function columnsAddedToExistingTable(ctx: RuleContext): AddedColumn[] {
  const at = alterTableOf(ctx);
  if (!at || ctx.isNewTable(at.table)) return [];
  let added = addedCache.get(ctx.node);
  if (!added) {
    added = at.cmds
      .filter((c) => c.subtype === 'AT_AddColumn')
      .map((c) => {
        const def = unwrap(c.def, 'ColumnDef') as Node;
        return { table: at.table, name: def.colname as string, type: typeRef(def.typeName), constraints: columnConstraints(def), def };
      });
    addedCache.set(ctx.node, added);
  }
  return added;
}

export function constraintOf(col: AddedColumn, contype: string): Node | undefined {
  return col.constraints.find((c) => c.contype === contype);
}

export interface DeclaredColumn {
  readonly table: string;
  readonly name: string;
  readonly type: TypeRef | undefined;
}

/** Columns whose type this statement declares: CREATE TABLE, ADD COLUMN, ALTER COLUMN TYPE. */
export function declaredColumns(ctx: RuleContext): DeclaredColumn[] {
  if (ctx.stmt.nodeType === 'CreateStmt') {
    const table = relationName(ctx.node.relation);
    return ((ctx.node.tableElts as Node[] | undefined) ?? [])
      .map((e) => unwrap(e, 'ColumnDef'))
      .filter((c): c is Node => c !== undefined)
      .map((c) => ({ table, name: c.colname as string, type: typeRef(c.typeName) }));
  }
  const at = alterTableOf(ctx);
  if (!at) return [];
  return at.cmds.flatMap((c) => {
    const def = unwrap(c.def, 'ColumnDef');
    if (c.subtype === 'AT_AddColumn' && def) return [{ table: at.table, name: def.colname as string, type: typeRef(def.typeName) }];
    if (c.subtype === 'AT_AlterColumnType' && def) return [{ table: at.table, name: c.name as string, type: typeRef(def.typeName) }];
    return [];
  });
}

/** A schema-hygiene rule (TY6xx): careful, style only, run only with the `hygiene` option. */
export function hygieneRule(rule: Omit<Rule, 'severity' | 'lock' | 'blocks' | 'rewrites' | 'hygiene'>): Rule {
  return { ...rule, severity: 'careful', lock: 'none', blocks: 'nothing (style)', rewrites: 'none', hygiene: true };
}
