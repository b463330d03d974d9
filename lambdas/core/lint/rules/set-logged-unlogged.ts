import { alterTableOf, defineRule } from '../rule-helpers';

/** LK404: SET LOGGED / UNLOGGED rewrites the table. */
export const setLoggedUnlogged = defineRule({
  id: 'LK404',
  name: 'set-logged-unlogged',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a full rewrite',
  blocks: 'everything, including SELECT, for the whole rewrite',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'Create a new table with the wanted persistence, copy in batches, swap names in a short transaction',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return at.cmds
      .filter((c) => c.subtype === 'AT_SetLogged' || c.subtype === 'AT_SetUnLogged')
      .map((c) => ({ table: at.table, message: `${c.subtype === 'AT_SetLogged' ? 'SET LOGGED' : 'SET UNLOGGED'} rewrites ${at.table} under ACCESS EXCLUSIVE` }));
  },
});
