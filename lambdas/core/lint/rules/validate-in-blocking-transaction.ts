import { alterCmds, unwrap } from '../ast';
import { alterTableOf, defineRule } from '../rule-helpers';
import type { RuleContext } from '../types';

/**
 * LK304: VALIDATE CONSTRAINT only avoids blocking when it runs in its own transaction: after the
 * ADD ... NOT VALID (or any ACCESS EXCLUSIVE / SHARE ROW EXCLUSIVE) in the same transaction, that
 * earlier lock is held for the whole validation scan.
 */
export const validateInBlockingTransaction = defineRule({
  id: 'LK304',
  name: 'validate-in-blocking-transaction',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'the earlier ACCESS EXCLUSIVE / SHARE ROW EXCLUSIVE, held during the scan',
  blocks: 'everything the earlier lock blocks, for the whole validation scan',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'Put VALIDATE CONSTRAINT in its own (later) migration, or split with a backfill barrier, so it runs in a transaction of its own',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return validatedNames(ctx).flatMap((name) => {
      const blocker = blockingPrior(ctx, name);
      if (!blocker) return [];
      return [{ table: at.table, lock: blocker.lock, message: `VALIDATE CONSTRAINT ${name} runs in the same transaction as ${blocker.what} (line ${blocker.line}): that lock is held for the whole scan of ${at.table}` }];
    });
  },
});

export function validatedNames(ctx: RuleContext): string[] {
  const at = alterTableOf(ctx);
  return at ? at.cmds.filter((c) => c.subtype === 'AT_ValidateConstraint').map((c) => c.name as string) : [];
}

/** The earlier statement of this transaction whose lock makes validating `name` blocking. */
export function blockingPrior(ctx: RuleContext, name: string): { what: string; line: number; lock: string } | undefined {
  for (const prior of ctx.priorInTxn) {
    if (prior.stmt.nodeType === 'AlterTableStmt') {
      const added = alterCmds(prior.stmt.node).some((c) => c.subtype === 'AT_AddConstraint' && unwrap(c.def, 'Constraint')?.conname === name);
      if (added) return { what: `its ADD CONSTRAINT ... NOT VALID`, line: prior.stmt.line, lock: describe(prior.locks) };
    }
    for (const [table, mode] of prior.locks) {
      if ((mode === 'ACCESS EXCLUSIVE' || mode === 'SHARE ROW EXCLUSIVE') && !ctx.isNewTable(table)) {
        return { what: `a statement taking ${mode} on ${table}`, line: prior.stmt.line, lock: `${mode} on ${table}` };
      }
    }
  }
  return undefined;
}

function describe(locks: ReadonlyMap<string, string>): string {
  return [...locks].map(([t, m]) => `${m} on ${t}`).join(', ');
}
