import { relationName, walk, type Node } from '../ast';
import { defineRule } from '../rule-helpers';

const RANGE_OPS = new Set(['<', '<=', '>', '>=']);

/**
 * Whether a WHERE clause limits the statement to a batch or to targeted rows: a key range
 * (<, >, BETWEEN), a subquery with LIMIT, or equality / IN with constants. A bare IS NULL or a
 * flag test touches every matching row at once, which on a live table is the whole table.
 */
function limitsRows(where: unknown): boolean {
  let limited = false;
  walk(where, (kind, node: Node) => {
    if (kind === 'A_Expr') {
      const op = ((node.name as Node[] | undefined)?.[0]?.String as Node | undefined)?.sval as string | undefined;
      if (node.kind === 'AEXPR_BETWEEN' || node.kind === 'AEXPR_IN') limited = true;
      if (node.kind === 'AEXPR_OP' && op && (RANGE_OPS.has(op) || op === '=') && (hasConst(node.rexpr) || hasConst(node.lexpr))) limited = true;
      if (node.kind === 'AEXPR_OP_ANY') limited = true;
    }
    if (kind === 'SubLink') {
      walk(node.subselect, (k, n) => {
        if (k === 'SelectStmt' && n.limitCount) limited = true;
      });
    }
  });
  return limited;
}

function hasConst(expr: unknown): boolean {
  const e = expr as Node | undefined;
  return Boolean(e && (e.A_Const || e.ParamRef || e.TypeCast));
}

/** DT501: a whole-table UPDATE/DELETE in a migration: every row locked and rewritten in one long transaction. */
export const unbatchedBackfill = defineRule({
  id: 'DT501',
  name: 'unbatched-backfill',
  on: ['UpdateStmt', 'DeleteStmt'],
  severity: 'dangerous',
  lock: 'ROW EXCLUSIVE + a row lock on every matched row until COMMIT',
  blocks: 'writers of every matched row; one long transaction (WAL, replication lag, bloat)',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'Move the data change to a backfill (backfill.json beside migration.sql): batched by key range, paced, resumable',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'UpdateStmt' && ctx.stmt.nodeType !== 'DeleteStmt') return [];
    const table = relationName(ctx.node.relation);
    if (ctx.isNewTable(table)) return [];
    const verb = ctx.stmt.nodeType === 'UpdateStmt' ? 'UPDATE' : 'DELETE';
    if (!ctx.node.whereClause) return [{ table, message: `${verb} ${table} without WHERE changes every row in one transaction` }];
    if (limitsRows(ctx.node.whereClause)) return [];
    return [{ table, message: `${verb} ${table} has no batching predicate (key range or LIMITed subquery): every matching row changes in one transaction` }];
  },
});
