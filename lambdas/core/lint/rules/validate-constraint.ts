import { alterTableOf, defineRule } from '../rule-helpers';
import { blockingPrior, validatedNames } from './validate-in-blocking-transaction';

/** LK305: VALIDATE CONSTRAINT alone in its transaction: a scan under SHARE UPDATE EXCLUSIVE, non-blocking. */
export const validateConstraint = defineRule({
  id: 'LK305',
  name: 'validate-constraint',
  on: ['AlterTableStmt'],
  severity: 'safe',
  lock: 'SHARE UPDATE EXCLUSIVE during the scan',
  blocks: 'only other schema changes and VACUUM; reads and writes continue',
  rewrites: 'scan',
  fix: 'Nothing to change: this is the recommended way',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return validatedNames(ctx)
      .filter((name) => !blockingPrior(ctx, name))
      .map((name) => ({ message: `VALIDATE CONSTRAINT ${name} scans ${at.table} without blocking reads or writes` }));
  },
});
