import { alterTableOf, defineRule } from '../rule-helpers';

/** BC401: DROP COLUMN is instant, but code still reading the column breaks and the data is gone. */
export const dropColumn = defineRule({
  id: 'BC401',
  name: 'drop-column',
  on: ['AlterTableStmt'],
  severity: 'careful',
  lock: 'ACCESS EXCLUSIVE, brief (catalog only)',
  blocks: 'everything for a moment (runs under lock_timeout)',
  rewrites: 'none',
  fix: 'Deploy code that no longer reads or writes the column first (Prisma: remove the field, or @ignore), then drop it; keep a backup',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return at.cmds
      .filter((c) => c.subtype === 'AT_DropColumn')
      .map((c) => ({ message: `DROP COLUMN ${at.table}.${c.name as string}: the running app must no longer use it, and its data is lost` }));
  },
});
