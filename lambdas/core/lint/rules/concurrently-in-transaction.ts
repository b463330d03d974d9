import { defineRule } from '../rule-helpers';

/** TX101: a statement that cannot run in a transaction block, inside the file's BEGIN ... COMMIT. */
export const concurrentlyInTransaction = defineRule({
  id: 'TX101',
  name: 'concurrently-in-transaction',
  severity: 'dangerous',
  lock: 'none: the statement fails with ERROR 25001',
  blocks: 'nothing; the migration fails (and the block rolls back)',
  rewrites: 'none',
  fix: 'Move it outside BEGIN ... COMMIT: our apply runs non-transactional statements alone in autocommit',
  check(ctx) {
    if (ctx.stmt.kind !== 'non-transactional' || ctx.txn.mode !== 'explicit') return [];
    const first = ctx.stmt.text.split(/\s+/).slice(0, 4).join(' ');
    return [{ message: `${first} ... cannot run inside a transaction block (ERROR 25001: it is inside the file's BEGIN)` }];
  },
});
