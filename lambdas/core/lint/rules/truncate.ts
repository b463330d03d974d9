import { list, relationName } from '../ast';
import { defineRule } from '../rule-helpers';

/** LK409: TRUNCATE deletes every row (CASCADE: of every referencing table too) under ACCESS EXCLUSIVE. */
export const truncate = defineRule({
  id: 'LK409',
  name: 'truncate',
  on: ['TruncateStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE on every listed (and cascaded) table',
  blocks: 'everything on those tables; and the data is gone',
  rewrites: 'none',
  fix: 'Delete what must go in batches (backfill.json) after a backup, or drop a table nothing uses any more',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'TruncateStmt') return [];
    const tables = list(ctx.node, 'relations').map((r) => relationName(r));
    const cascade = ctx.node.behavior === 'DROP_CASCADE';
    if (!cascade && tables.every((t) => ctx.isNewTable(t))) return [];
    return [{ message: `TRUNCATE ${tables.join(', ')}${cascade ? ' CASCADE (and every table referencing them)' : ''} deletes every row under ACCESS EXCLUSIVE` }];
  },
});
