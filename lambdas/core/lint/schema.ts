/**
 * The schema as far as the migration history tells it: replaying every earlier statement offline
 * gives column types (for binary-coercible type changes), nullability, CHECK constraints and when
 * they were validated, foreign keys, indexes, domains, and which migration created each table.
 * What the history does not show is unknown, and rules treat unknown as "existing and large"
 * (fail closed).
 */
import type { SqlStatement } from '../migrations/sql';
import {
  alterCmds,
  columnConstraints,
  columnRefs,
  DEFAULT_SCHEMA,
  isNotNullColumn,
  list,
  qualifiedFromList,
  relationName,
  strings,
  typeRef,
  unwrap,
  type Node,
  type TypeRef,
} from './ast';

export interface ColumnInfo {
  type?: TypeRef;
  notNull: boolean;
}

export interface CheckInfo {
  /** A CHECK, or a PostgreSQL 18 NOT NULL constraint (which may be NOT VALID). */
  readonly kind: 'check' | 'not-null';
  /** Set when the constraint proves `column IS NOT NULL` (a CHECK, or a PG 18 NOT NULL constraint). */
  readonly notNullColumn?: string;
  readonly columns: readonly string[];
  validated: boolean;
  /** Transaction key ("migration:txn") in which it became valid. */
  validatedIn?: string;
  /** Transaction key in which it was added. */
  readonly addedIn: string;
}

export interface TableInfo {
  name: string;
  readonly kind: 'table' | 'view' | 'matview';
  /** PARTITION BY: indexes on it cannot be built CONCURRENTLY (build them per partition). */
  partitioned?: boolean;
  /** Index of the migration that created it. */
  readonly createdMigration: number;
  readonly columns: Map<string, ColumnInfo>;
  readonly checks: Map<string, CheckInfo>;
  readonly foreignKeys: Set<string>;
}

export interface IndexInfo {
  readonly table: string;
  readonly columns: readonly string[];
  readonly createdMigration: number;
}

export interface Schema {
  readonly tables: Map<string, TableInfo>;
  readonly indexes: Map<string, IndexInfo>;
  /** Domain name -> whether it carries constraints (adding a column of it scans/rewrites). */
  readonly domains: Map<string, { constrained: boolean }>;
}

export function emptySchema(): Schema {
  return { tables: new Map(), indexes: new Map(), domains: new Map() };
}

/** Where a statement runs, for the "validated in an earlier transaction" questions. */
export interface ReplayPosition {
  readonly migrationIndex: number;
  readonly txnKey: string;
}

/** Applies one statement's effect to the model. Unknown statements change nothing. */
export function replay(schema: Schema, stmt: SqlStatement, at: ReplayPosition): void {
  const node = stmt.node;
  switch (stmt.nodeType) {
    case 'CreateStmt':
      return createTable(schema, node, at);
    case 'CreateTableAsStmt': {
      const into = node.into as Node;
      const name = relationName(into.rel);
      schema.tables.set(name, newTable(name, node.objtype === 'OBJECT_MATVIEW' ? 'matview' : 'table', at));
      return;
    }
    case 'ViewStmt': {
      const name = relationName(node.view);
      schema.tables.set(name, newTable(name, 'view', at));
      return;
    }
    case 'AlterTableStmt':
      return alterTable(schema, node, at);
    case 'RenameStmt':
      return rename(schema, node);
    case 'DropStmt':
      return drop(schema, node);
    case 'IndexStmt': {
      const table = relationName(node.relation);
      const columns = list(node, 'indexParams').map((p) => (unwrap(p, 'IndexElem')?.name as string | undefined) ?? '');
      if (node.idxname) {
        const schemaName = table.split('.')[0];
        schema.indexes.set(`${schemaName}.${node.idxname as string}`, { table, columns, createdMigration: at.migrationIndex });
      }
      return;
    }
    case 'CreateDomainStmt': {
      const constrained = list(node, 'constraints').some((c) => {
        const t = unwrap(c, 'Constraint')?.contype;
        return t === 'CONSTR_CHECK' || t === 'CONSTR_NOTNULL';
      });
      schema.domains.set(qualifiedFromList(node.domainname), { constrained });
      return;
    }
    case 'AlterDomainStmt':
      if (node.subtype === 'C' || node.subtype === 'N') schema.domains.set(qualifiedFromList(node.typeName), { constrained: true });
      return;
    default:
      return;
  }
}

function newTable(name: string, kind: TableInfo['kind'], at: ReplayPosition): TableInfo {
  return { name, kind, createdMigration: at.migrationIndex, columns: new Map(), checks: new Map(), foreignKeys: new Set() };
}

function createTable(schema: Schema, node: Node, at: ReplayPosition): void {
  const name = relationName(node.relation);
  const table = newTable(name, 'table', at);
  table.partitioned = Boolean(node.partspec);
  // A partition or child starts with its parent's columns.
  for (const parent of list(node, 'inhRelations')) {
    const p = schema.tables.get(relationName(parent));
    for (const [col, info] of p?.columns ?? []) table.columns.set(col, { ...info });
  }
  for (const elt of list(node, 'tableElts')) {
    const col = unwrap(elt, 'ColumnDef');
    if (col) addColumn(table, col, at);
    const con = unwrap(elt, 'Constraint');
    if (con) addConstraint(table, con, at);
  }
  schema.tables.set(name, table);
}

function addColumn(table: TableInfo, col: Node, at: ReplayPosition): void {
  const name = col.colname as string;
  const info: ColumnInfo = { type: typeRef(col.typeName), notNull: false };
  table.columns.set(name, info);
  for (const con of columnConstraints(col)) {
    if (con.contype === 'CONSTR_NOTNULL' || con.contype === 'CONSTR_PRIMARY' || con.contype === 'CONSTR_IDENTITY') info.notNull = true;
    if (con.contype === 'CONSTR_CHECK' || con.contype === 'CONSTR_FOREIGN') addConstraint(table, { ...con, keys: undefined, fk_attrs: [{ String: { sval: name } }] }, at, name);
  }
}

/** The name PostgreSQL gives an unnamed constraint (close enough for VALIDATE/DROP lookups). */
function constraintName(table: TableInfo, con: Node, column?: string): string {
  if (con.conname) return con.conname as string;
  const rel = table.name.split('.')[1];
  if (con.contype === 'CONSTR_FOREIGN') return `${rel}_${strings(con.fk_attrs).join('_') || column}_fkey`;
  if (con.contype === 'CONSTR_CHECK') {
    const cols = [...new Set(columnRefs(con.raw_expr))];
    return cols.length === 1 ? `${rel}_${cols[0]}_check` : `${rel}_check`;
  }
  if (con.contype === 'CONSTR_NOTNULL') return `${rel}_${strings(con.keys)[0] ?? column}_not_null`;
  return `${rel}_${con.contype as string}`;
}

function addConstraint(table: TableInfo, con: Node, at: ReplayPosition, column?: string): void {
  const name = constraintName(table, con, column);
  const validated = !con.skip_validation;
  switch (con.contype) {
    case 'CONSTR_CHECK': {
      const notNullColumn = isNotNullColumn(con.raw_expr);
      table.checks.set(name, {
        kind: 'check',
        notNullColumn,
        columns: [...new Set(columnRefs(con.raw_expr))],
        validated,
        validatedIn: validated ? at.txnKey : undefined,
        addedIn: at.txnKey,
      });
      return;
    }
    case 'CONSTR_NOTNULL': {
      // PostgreSQL 18: ADD CONSTRAINT c NOT NULL col [NOT VALID].
      const col = strings(con.keys)[0] ?? column;
      if (!col) return;
      if (validated) {
        const info = table.columns.get(col);
        if (info) info.notNull = true;
      }
      table.checks.set(name, { kind: 'not-null', notNullColumn: col, columns: [col], validated, validatedIn: validated ? at.txnKey : undefined, addedIn: at.txnKey });
      return;
    }
    case 'CONSTR_PRIMARY':
      for (const key of strings(con.keys)) {
        const info = table.columns.get(key);
        if (info) info.notNull = true;
      }
      return;
    case 'CONSTR_FOREIGN':
      table.foreignKeys.add(name);
      return;
    default:
      return;
  }
}

function alterTable(schema: Schema, node: Node, at: ReplayPosition): void {
  const table = schema.tables.get(relationName(node.relation));
  if (!table) return;
  for (const cmd of alterCmds(node)) {
    const column = cmd.name as string | undefined;
    switch (cmd.subtype) {
      case 'AT_AddColumn':
        addColumn(table, unwrap(cmd.def, 'ColumnDef') as Node, at);
        break;
      case 'AT_DropColumn':
        if (column) table.columns.delete(column);
        break;
      case 'AT_AlterColumnType': {
        const info = column ? table.columns.get(column) : undefined;
        if (info) info.type = typeRef((unwrap(cmd.def, 'ColumnDef') as Node).typeName);
        break;
      }
      case 'AT_SetNotNull': {
        const info = column ? table.columns.get(column) : undefined;
        if (info) info.notNull = true;
        break;
      }
      case 'AT_DropNotNull': {
        const info = column ? table.columns.get(column) : undefined;
        if (info) info.notNull = false;
        break;
      }
      case 'AT_AddConstraint':
        addConstraint(table, unwrap(cmd.def, 'Constraint') as Node, at);
        break;
      case 'AT_ValidateConstraint': {
        const check = column ? table.checks.get(column) : undefined;
        if (check && !check.validated) {
          check.validated = true;
          check.validatedIn = at.txnKey;
          // A validated PG 18 NOT NULL constraint makes the column NOT NULL.
          const info = check.kind === 'not-null' && check.notNullColumn ? table.columns.get(check.notNullColumn) : undefined;
          if (info) info.notNull = true;
        }
        break;
      }
      case 'AT_DropConstraint':
        if (column) {
          table.checks.delete(column);
          table.foreignKeys.delete(column);
        }
        break;
      default:
        break;
    }
  }
}

function rename(schema: Schema, node: Node): void {
  if (node.renameType === 'OBJECT_TABLE' || node.renameType === 'OBJECT_VIEW' || node.renameType === 'OBJECT_MATVIEW') {
    const from = relationName(node.relation);
    const table = schema.tables.get(from);
    if (!table) return;
    schema.tables.delete(from);
    table.name = `${from.split('.')[0]}.${node.newname as string}`;
    schema.tables.set(table.name, table);
  } else if (node.renameType === 'OBJECT_COLUMN') {
    const table = schema.tables.get(relationName(node.relation));
    const info = table?.columns.get(node.subname as string);
    if (table && info) {
      table.columns.delete(node.subname as string);
      table.columns.set(node.newname as string, info);
    }
  }
}

function drop(schema: Schema, node: Node): void {
  const names = list(node, 'objects').map((o) => {
    const items = unwrap(o, 'List')?.items ?? [o];
    return qualifiedFromList(items);
  });
  switch (node.removeType) {
    case 'OBJECT_TABLE':
    case 'OBJECT_VIEW':
    case 'OBJECT_MATVIEW':
      for (const n of names) schema.tables.delete(n);
      return;
    case 'OBJECT_INDEX':
      for (const n of names) schema.indexes.delete(n);
      return;
    case 'OBJECT_DOMAIN':
      for (const n of names) schema.domains.delete(n);
      return;
    case 'OBJECT_SCHEMA':
      for (const s of strings(node.objects)) {
        for (const key of [...schema.tables.keys()]) if (key.startsWith(`${s}.`)) schema.tables.delete(key);
      }
      return;
    default:
      return;
  }
}

export { DEFAULT_SCHEMA };
