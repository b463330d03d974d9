/**
 * Small readers over libpg-query's JSON parse tree. Every node is `{ NodeType: {...fields} }`;
 * these helpers unwrap the shapes the rules need without scattering casts through them.
 */
export type Node = Record<string, unknown>;

/** The default schema of unqualified names (Prisma's `?schema=` is applied by the runner, not here). */
export const DEFAULT_SCHEMA = 'public';

/** `{ RangeVar: {...} }` or a bare RangeVar -> "schema.name". */
export function relationName(rangeVar: unknown): string {
  const rv = unwrap(rangeVar, 'RangeVar') ?? (rangeVar as Node | undefined);
  if (!rv) return '';
  return `${(rv.schemaname as string | undefined) ?? DEFAULT_SCHEMA}.${rv.relname as string}`;
}

/** List of `{ String: { sval } }` -> ["a", "b"]. */
export function strings(list: unknown): string[] {
  return ((list as Node[] | undefined) ?? []).map((n) => ((n.String as Node | undefined)?.sval as string | undefined) ?? '');
}

/** A qualified name from a String list (type or object names): ["s","t"] -> "s.t", ["t"] -> "public.t". */
export function qualifiedFromList(list: unknown): string {
  const parts = strings(list);
  return parts.length > 1 ? parts.slice(-2).join('.') : `${DEFAULT_SCHEMA}.${parts[0] ?? ''}`;
}

/** The node inside `{ Kind: node }` when it is of that kind. */
export function unwrap(value: unknown, kind: string): Node | undefined {
  return (value as Node | undefined)?.[kind] as Node | undefined;
}

/** Array field of a node, [] when absent. */
export function list(node: Node | undefined, field: string): Node[] {
  return ((node?.[field] as Node[] | undefined) ?? []);
}

/** Depth-first visit of every object in a parse tree. */
export function walk(value: unknown, visit: (kind: string, node: Node) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, visit);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Node)) {
      if (v && typeof v === 'object' && !Array.isArray(v) && /^[A-Z]/.test(k)) visit(k, v as Node);
      walk(v, visit);
    }
  }
}

/** A column type as written: normalized name (pg_catalog stripped), type modifiers, array-ness. */
export interface TypeRef {
  readonly name: string;
  readonly mods: readonly number[];
  readonly array: boolean;
}

export function typeRef(typeName: unknown): TypeRef | undefined {
  const tn = (unwrap(typeName, 'TypeName') ?? typeName) as Node | undefined;
  if (!tn?.names) return undefined;
  const parts = strings(tn.names);
  // The parser already folded unquoted names; quoted ones keep their case ("Role" is not role).
  const name = (parts[0] === 'pg_catalog' ? parts.slice(1) : parts).join('.');
  const mods = list(tn, 'typmods').map((m) => {
    const c = unwrap(m, 'A_Const');
    return (c?.ival as Node | undefined)?.ival as number | undefined ?? 0;
  });
  return { name, mods, array: Array.isArray(tn.arrayBounds) && (tn.arrayBounds as unknown[]).length > 0 };
}

export function typeText(t: TypeRef | undefined): string {
  if (!t) return 'unknown';
  return `${t.name}${t.mods.length ? `(${t.mods.join(',')})` : ''}${t.array ? '[]' : ''}`;
}

/** The constraints of a ColumnDef, unwrapped. */
export function columnConstraints(columnDef: Node): Node[] {
  return list(columnDef, 'constraints').map((c) => unwrap(c, 'Constraint') as Node);
}

/** The commands of an AlterTableStmt, unwrapped. */
export function alterCmds(node: Node): Node[] {
  return list(node, 'cmds').map((c) => unwrap(c, 'AlterTableCmd') as Node);
}

/** Names of columns referenced by an expression (ColumnRef last field). */
export function columnRefs(expr: unknown): string[] {
  const out: string[] = [];
  walk(expr, (kind, node) => {
    if (kind === 'ColumnRef') {
      const fields = strings(node.fields);
      const last = fields[fields.length - 1];
      if (last) out.push(last);
    }
  });
  return out;
}

/** The column `c` when the expression is exactly `c IS NOT NULL`. */
export function isNotNullColumn(expr: unknown): string | undefined {
  const test = unwrap(expr, 'NullTest');
  if (!test || test.nulltesttype !== 'IS_NOT_NULL') return undefined;
  const refs = columnRefs(test.arg);
  return refs.length === 1 ? refs[0] : undefined;
}

/** String constants anywhere in a tree (used to spot a new enum value being used). */
export function stringConstants(tree: unknown): string[] {
  const out: string[] = [];
  walk(tree, (kind, node) => {
    if (kind === 'A_Const' && node.sval) out.push((node.sval as Node).sval as string);
  });
  return out;
}

/** Whether a DefElem list holds an option (VACUUM (FULL), REINDEX (CONCURRENTLY), ...). */
export function hasOption(node: Node, field: string, name: string): boolean {
  return list(node, field).some((o) => (unwrap(o, 'DefElem')?.defname as string | undefined)?.toLowerCase() === name);
}
