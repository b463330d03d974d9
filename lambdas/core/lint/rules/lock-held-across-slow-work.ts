import { LOCK_ORDER, statementLocks } from '../locks';
import { defineRule } from '../rule-helpers';
import type { LockMode, PriorStatement } from '../types';

/**
 * TX204: locks are held until COMMIT. When a statement takes ACCESS EXCLUSIVE or SHARE ROW
 * EXCLUSIVE on an existing table and later slow work (a backfill, a scan, a rewrite, an index
 * build) runs in the same transaction, the table stays locked for all of it. Nobody else flags this.
 * Waiting for a second table's ACCESS EXCLUSIVE meanwhile is careful (the wait is bounded by lock_timeout).
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
    if (ctx.txn.mode === 'autocommit' || !ctx.priorInTxn.length) return [];
    // A lock this statement takes anyway (as strong) adds nothing: its own rule reports it.
    const own = statementLocks(ctx.stmt);
    const held = heldLocks(ctx.priorInTxn, (t) => ctx.isNewTable(t)).filter(([table, mode]) => {
      const ownMode = own.get(table);
      return !ownMode || LOCK_ORDER.indexOf(ownMode) < LOCK_ORDER.indexOf(mode);
    });
    if (!held.length) return [];
    const [table, mode, line] = held[0];
    if (ctx.slow) {
      return [{
        table,
        lock: `${mode} on ${table} (taken at line ${line}) held until COMMIT`,
        message: `${ctx.slow} runs in the same transaction after line ${line} took ${mode} on ${table}: ${table} stays locked for all of it`,
      }];
    }
    // Waiting for a second table's ACCESS EXCLUSIVE while holding the first one: the wait is bounded
    // by lock_timeout, but the first table's traffic queues for that long (careful, not an outage).
    const next = [...own].find(([t, m]) => m === 'ACCESS EXCLUSIVE' && t !== table && !ctx.isNewTable(t));
    if (!next || mode !== 'ACCESS EXCLUSIVE') return [];
    return [{
      severity: 'careful',
      table,
      lock: `${mode} on ${table} (taken at line ${line}) held while waiting for ACCESS EXCLUSIVE on ${next[0]}`,
      message: `waits for ACCESS EXCLUSIVE on ${next[0]} while holding ${mode} on ${table} (line ${line}): ${table}'s queries queue for as long as that wait lasts (lock_timeout bounds it)`,
      fix: 'Change one table per migration (or per explicit transaction) so that no lock is held while waiting for another',
    }];
  },
});

/** ACCESS EXCLUSIVE / SHARE ROW EXCLUSIVE locks on existing tables still held from earlier statements: [table, mode, line]. */
function heldLocks(prior: readonly PriorStatement[], isNew: (table: string) => boolean): [string, LockMode, number][] {
  const out: [string, LockMode, number][] = [];
  for (const p of prior) {
    for (const [table, mode] of p.locks) {
      if ((mode === 'ACCESS EXCLUSIVE' || mode === 'SHARE ROW EXCLUSIVE') && !isNew(table)) out.push([table, mode, p.stmt.line]);
    }
  }
  return out;
}
