import { relationName } from '../ast';
import { defineRule } from '../rule-helpers';

/** BC404: renaming a column breaks the running application at once. */
export const renameColumn = defineRule({
  id: 'BC404',
  name: 'rename-column',
  on: ['RenameStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE, brief',
  blocks: 'everything for a moment; then every query using the old name fails',
  rewrites: 'none',
  fix: 'Expand and contract: add the new column, dual-write, backfill, switch reads, drop the old one later (Prisma: @map keeps the field name)',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'RenameStmt' || ctx.node.renameType !== 'OBJECT_COLUMN') return [];
    const table = relationName(ctx.node.relation);
    if (ctx.isNewTable(table)) return [];
    return [{ message: `RENAME COLUMN ${table}.${ctx.node.subname as string} TO ${ctx.node.newname as string}: the running app still uses the old name` }];
  },
});
