/**
 * The table locks each statement takes (PostgreSQL docs, "Explicit Locking", and the lock level of
 * each ALTER TABLE sub-command), used to know what is held for the rest of a transaction.
 */
import type { SqlStatement } from '../migrations/sql';
import { alterCmds, hasOption, list, qualifiedFromList, relationName, unwrap, type Node } from './ast';
import type { LockMode } from './types';

export const LOCK_ORDER: LockMode[] = [
  'ACCESS SHARE',
  'ROW SHARE',
  'ROW EXCLUSIVE',
  'SHARE UPDATE EXCLUSIVE',
  'SHARE',
  'SHARE ROW EXCLUSIVE',
  'EXCLUSIVE',
  'ACCESS EXCLUSIVE',
];

/** What each lock blocks, in words an operator reads at 3 a.m. */
export const BLOCKS: Record<LockMode, string> = {
  'ACCESS SHARE': 'only ACCESS EXCLUSIVE (DDL that rewrites or drops)',
  'ROW SHARE': 'EXCLUSIVE and ACCESS EXCLUSIVE',
  'ROW EXCLUSIVE': 'SHARE and stronger (CREATE INDEX, DDL); rows it touches block their writers',
  'SHARE UPDATE EXCLUSIVE': 'other schema changes, VACUUM and ANALYZE; reads and writes continue',
  SHARE: 'INSERT, UPDATE, DELETE (writes); reads continue',
  'SHARE ROW EXCLUSIVE': 'INSERT, UPDATE, DELETE (writes); reads continue',
  EXCLUSIVE: 'writes and SELECT ... FOR UPDATE; plain reads continue',
  'ACCESS EXCLUSIVE': 'everything, including SELECT (and every query queued behind it)',
};

export function stronger(a: LockMode | undefined, b: LockMode): LockMode {
  return a && LOCK_ORDER.indexOf(a) >= LOCK_ORDER.indexOf(b) ? a : b;
}

const LOCK_STMT_MODES: LockMode[] = LOCK_ORDER; // LockStmt.mode is 1-based in this order

function alterCmdLock(cmd: Node): LockMode {
  switch (cmd.subtype) {
    case 'AT_ValidateConstraint':
    case 'AT_SetStatistics':
    case 'AT_ClusterOn':
    case 'AT_DropCluster':
    case 'AT_SetRelOptions':
    case 'AT_ResetRelOptions':
    case 'AT_AttachPartition':
      return 'SHARE UPDATE EXCLUSIVE';
    case 'AT_DetachPartition':
      return (unwrap(cmd.def, 'PartitionCmd')?.concurrent as boolean | undefined) ? 'SHARE UPDATE EXCLUSIVE' : 'ACCESS EXCLUSIVE';
    case 'AT_EnableTrig':
    case 'AT_DisableTrig':
    case 'AT_EnableTrigAll':
    case 'AT_DisableTrigAll':
    case 'AT_EnableTrigUser':
    case 'AT_DisableTrigUser':
    case 'AT_EnableAlwaysTrig':
    case 'AT_EnableReplicaTrig':
      return 'SHARE ROW EXCLUSIVE';
    case 'AT_AddConstraint':
      return unwrap(cmd.def, 'Constraint')?.contype === 'CONSTR_FOREIGN' ? 'SHARE ROW EXCLUSIVE' : 'ACCESS EXCLUSIVE';
    default:
      return 'ACCESS EXCLUSIVE';
  }
}

/** Qualified table -> strongest lock the statement takes on it. */
export function statementLocks(stmt: SqlStatement): Map<string, LockMode> {
  const locks = new Map<string, LockMode>();
  const take = (table: string, mode: LockMode) => locks.set(table, stronger(locks.get(table), mode));
  const node = stmt.node;
  switch (stmt.nodeType) {
    case 'AlterTableStmt': {
      // ALTER INDEX ... (ATTACH PARTITION, SET ...) locks the index, not a table.
      if (node.objtype === 'OBJECT_INDEX') break;
      const table = relationName(node.relation);
      for (const cmd of alterCmds(node)) {
        take(table, alterCmdLock(cmd));
        const con = unwrap(cmd.def, 'Constraint');
        if (con?.contype === 'CONSTR_FOREIGN') take(relationName(con.pktable), 'SHARE ROW EXCLUSIVE');
        const col = unwrap(cmd.def, 'ColumnDef');
        for (const c of list(col, 'constraints')) {
          const cc = unwrap(c, 'Constraint');
          if (cc?.contype === 'CONSTR_FOREIGN') take(relationName(cc.pktable), 'SHARE ROW EXCLUSIVE');
        }
        const part = unwrap(cmd.def, 'PartitionCmd');
        if (part) take(relationName(part.name), cmd.subtype === 'AT_AttachPartition' ? 'ACCESS EXCLUSIVE' : alterCmdLock(cmd));
      }
      break;
    }
    case 'IndexStmt':
      take(relationName(node.relation), node.concurrent ? 'SHARE UPDATE EXCLUSIVE' : 'SHARE');
      break;
    case 'CreateTrigStmt':
      take(relationName(node.relation), 'SHARE ROW EXCLUSIVE');
      break;
    case 'RenameStmt':
      // Renaming an index takes SHARE UPDATE EXCLUSIVE on the index only (PostgreSQL 12+).
      if (node.relation && node.renameType !== 'OBJECT_INDEX') take(relationName(node.relation), 'ACCESS EXCLUSIVE');
      break;
    case 'TruncateStmt':
      for (const r of list(node, 'relations')) take(relationName(r), 'ACCESS EXCLUSIVE');
      break;
    case 'LockStmt':
      for (const r of list(node, 'relations')) take(relationName(r), LOCK_STMT_MODES[((node.mode as number) ?? 8) - 1] ?? 'ACCESS EXCLUSIVE');
      break;
    case 'VacuumStmt':
      for (const r of list(node, 'rels')) {
        take(relationName(unwrap(r, 'VacuumRelation')?.relation), hasOption(node, 'options', 'full') ? 'ACCESS EXCLUSIVE' : 'SHARE UPDATE EXCLUSIVE');
      }
      break;
    case 'ClusterStmt':
      if (node.relation) take(relationName(node.relation), 'ACCESS EXCLUSIVE');
      break;
    case 'RefreshMatViewStmt':
      take(relationName(node.relation), node.concurrent ? 'EXCLUSIVE' : 'ACCESS EXCLUSIVE');
      break;
    case 'ReindexStmt':
      if (node.relation) take(relationName(node.relation), hasOption(node, 'params', 'concurrently') ? 'SHARE UPDATE EXCLUSIVE' : 'SHARE');
      break;
    case 'DropStmt':
      if (node.removeType === 'OBJECT_TABLE' || node.removeType === 'OBJECT_MATVIEW' || node.removeType === 'OBJECT_VIEW') {
        for (const o of list(node, 'objects')) take(qualifiedFromList(unwrap(o, 'List')?.items), 'ACCESS EXCLUSIVE');
      }
      break;
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'InsertStmt':
      take(relationName(node.relation), 'ROW EXCLUSIVE');
      break;
    default:
      break;
  }
  return locks;
}

/** "ACCESS EXCLUSIVE on public.users" for the strongest lock a statement takes, or "" when none. */
export function describeLocks(locks: ReadonlyMap<string, LockMode>): string {
  return [...locks].map(([t, m]) => `${m} on ${t}`).join(', ');
}

export function isBlockingDdlLock(mode: LockMode): boolean {
  return LOCK_ORDER.indexOf(mode) >= LOCK_ORDER.indexOf('SHARE');
}
