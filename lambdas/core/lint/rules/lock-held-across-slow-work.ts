import { LOCK_ORDER, statementLocks } from '../locks';
import { defineRule } from '../rule-helpers';

/**
 * TX204: locks are held until COMMIT. When a statement takes ACCESS EXCLUSIVE or SHARE ROW
 * EXCLUSIVE on an existing table and later slow work (a backfill, a scan, a rewrite, an index
 * build) runs in the same transaction, the table stays locked for all of it. Nobody else flags this.
 */
export const lockHeldAcrossSlowWork = defineRule({
  id: 'TX204',
  name: 'lock-held-across-slow-work',
  severity: 'dangerous',
  lock: 'an earlier ACCESS EXCLUSIVE / SHARE ROW EXCLUSIVE, held until COMMIT',
  blocks: 'everything the earlier lock blocks, for the whole slow statement',
  rewrites: 'none',
  afterStatement: true,
  fix: 'Split the file: the short DDL in one migration, the slow work in the next (or behind a backfill barrier), so the lock is released first',
  check(ctx) {
    if (!ctx.slow || ctx.txn.mode === 'autocommit') return [];
    // A lock this statement takes anyway (as strong) adds nothing: its own rule reports it.
    const own = statementLocks(ctx.stmt);
    for (const prior of ctx.priorInTxn) {
      for (const [table, mode] of prior.locks) {
        if ((mode !== 'ACCESS EXCLUSIVE' && mode !== 'SHARE ROW EXCLUSIVE') || ctx.isNewTable(table)) continue;
        const ownMode = own.get(table);
        if (ownMode && LOCK_ORDER.indexOf(ownMode) >= LOCK_ORDER.indexOf(mode)) continue;
        return [{
          table,
          lock: `${mode} on ${table} (taken at line ${prior.stmt.line}) held until COMMIT`,
          message: `${ctx.slow} runs in the same transaction after line ${prior.stmt.line} took ${mode} on ${table}: ${table} stays locked for all of it`,
        }];
      }
    }
    return [];
  },
});
