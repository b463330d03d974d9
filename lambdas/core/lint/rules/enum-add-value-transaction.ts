import { qualifiedFromList, stringConstants } from '../ast';
import { defineRule } from '../rule-helpers';

/**
 * LK411: ALTER TYPE ... ADD VALUE cannot run in a transaction block before PostgreSQL 12, and
 * from 12 on the new value cannot be used before the transaction that added it commits.
 */
export const enumAddValueTransaction = defineRule({
  id: 'LK411',
  name: 'enum-add-value-transaction',
  severity: 'dangerous',
  lock: 'none on tables (the statement fails at runtime)',
  blocks: 'nothing: the migration fails',
  rewrites: 'none',
  fix: 'Add the enum value in its own migration (or outside BEGIN), and use it in a later migration',
  check(ctx) {
    if (ctx.stmt.nodeType === 'AlterEnumStmt' && !ctx.node.oldVal && ctx.target.major < 12 && ctx.txn.mode === 'explicit') {
      return [{ message: `ALTER TYPE ${qualifiedFromList(ctx.node.typeName)} ADD VALUE cannot run inside a transaction block on PostgreSQL ${ctx.target.major}` }];
    }
    if (ctx.txn.mode === 'autocommit') return [];
    const added = ctx.priorInTxn.filter((p) => p.stmt.nodeType === 'AlterEnumStmt' && !p.stmt.node.oldVal);
    if (!added.length) return [];
    const used = new Set(stringConstants(ctx.node));
    return added
      .filter((p) => used.has(p.stmt.node.newVal as string))
      .map((p) => ({ message: `'${p.stmt.node.newVal as string}' is used in the same transaction that adds it (line ${p.stmt.line}): "unsafe use of new value" at runtime` }));
  },
});
