import { alterTableOf, defineRule } from '../rule-helpers';

/** LK405: SET TABLESPACE copies and SET ACCESS METHOD rewrites the table. */
export const setTablespaceOrAccessMethod = defineRule({
  id: 'LK405',
  name: 'set-tablespace-or-access-method',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a full copy or rewrite',
  blocks: 'everything, including SELECT, for the whole copy',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'Move the data online with pg_repack --tablespace, or a new table filled in batches and swapped',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return at.cmds
      .filter((c) => c.subtype === 'AT_SetTableSpace' || c.subtype === 'AT_SetAccessMethod')
      .map((c) => ({ table: at.table, message: `${c.subtype === 'AT_SetTableSpace' ? 'SET TABLESPACE' : 'SET ACCESS METHOD'} copies ${at.table} under ACCESS EXCLUSIVE` }));
  },
});
