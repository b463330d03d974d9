import { list, relationName } from '../ast';
import { LOCK_ORDER } from '../locks';
import { defineRule } from '../rule-helpers';

/** LK410: LOCK TABLE holds its lock until the end of the transaction. */
export const explicitLockTable = defineRule({
  id: 'LK410',
  name: 'explicit-lock-table',
  on: ['LockStmt'],
  severity: 'dangerous',
  lock: 'as named (ACCESS EXCLUSIVE by default), until COMMIT',
  blocks: 'with ACCESS EXCLUSIVE or EXCLUSIVE: every write (and read) for the rest of the transaction',
  rewrites: 'none',
  fix: 'Remove the LOCK TABLE: each DDL statement takes the lock it needs, under lock_timeout',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'LockStmt') return [];
    const mode = LOCK_ORDER[((ctx.node.mode as number | undefined) ?? 8) - 1] ?? 'ACCESS EXCLUSIVE';
    const tables = list(ctx.node, 'relations').map((r) => relationName(r)).filter((t) => !ctx.isNewTable(t));
    if (!tables.length) return [];
    const rank = LOCK_ORDER.indexOf(mode);
    if (rank < LOCK_ORDER.indexOf('SHARE')) return [];
    return [{
      severity: rank >= LOCK_ORDER.indexOf('EXCLUSIVE') ? 'dangerous' : 'careful',
      lock: `${mode} on ${tables.join(', ')} until COMMIT`,
      message: `LOCK TABLE ${tables.join(', ')} IN ${mode} MODE holds it for the rest of the transaction`,
    }];
  },
});
