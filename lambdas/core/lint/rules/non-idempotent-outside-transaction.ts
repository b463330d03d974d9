import { alterCmds } from '../ast';
import { defineRule } from '../rule-helpers';
import type { RuleContext } from '../types';

/**
 * TX206: a file with non-transactional statements is not atomic: a failure leaves the earlier
 * statements applied, and the re-run fails on them unless they are written IF [NOT] EXISTS.
 */
export const nonIdempotentOutsideTransaction = defineRule({
  id: 'TX206',
  name: 'non-idempotent-outside-transaction',
  on: ['CreateStmt', 'IndexStmt', 'DropStmt', 'AlterTableStmt'],
  severity: 'careful',
  lock: 'none',
  blocks: 'nothing; a re-run after a partial failure fails on it',
  rewrites: 'none',
  fix: 'Write it re-runnable: CREATE ... IF NOT EXISTS, DROP ... IF EXISTS, ADD COLUMN IF NOT EXISTS',
  check(ctx) {
    if (!ctx.fileHasNonTransactional) return [];
    const what = nonIdempotent(ctx);
    return what ? [{ message: `${what} is not re-runnable, and this file is not atomic (it holds a statement that runs outside a transaction)` }] : [];
  },
});

function nonIdempotent(ctx: RuleContext): string | undefined {
  const n = ctx.node;
  switch (ctx.stmt.nodeType) {
    case 'CreateStmt':
      return n.if_not_exists ? undefined : 'CREATE TABLE without IF NOT EXISTS';
    case 'IndexStmt':
      // CREATE INDEX CONCURRENTLY has its own rule (concurrent-index-not-idempotent).
      return n.if_not_exists || n.concurrent ? undefined : 'CREATE INDEX without IF NOT EXISTS';
    case 'DropStmt':
      return n.missing_ok ? undefined : 'DROP without IF EXISTS';
    case 'AlterTableStmt': {
      const bad = alterCmds(n).find((c) => (c.subtype === 'AT_AddColumn' || c.subtype === 'AT_DropColumn' || c.subtype === 'AT_DropConstraint') && !c.missing_ok);
      return bad ? `${(bad.subtype as string).replace('AT_', '')} without IF [NOT] EXISTS` : undefined;
    }
    default:
      return undefined;
  }
}
