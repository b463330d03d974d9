import { alterTableOf, defineRule } from '../rule-helpers';

/** LK210: SET/DROP DEFAULT only touches the catalog. */
export const setDefault = defineRule({
  id: 'LK210',
  name: 'set-default',
  on: ['AlterTableStmt'],
  severity: 'safe',
  lock: 'ACCESS EXCLUSIVE, brief (catalog only)',
  blocks: 'everything for a moment (runs under lock_timeout)',
  rewrites: 'none',
  fix: 'Nothing to change; existing rows keep their values, only new rows get the default',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return at.cmds
      .filter((c) => c.subtype === 'AT_ColumnDefault')
      .map((c) => ({ message: `${c.def ? 'SET' : 'DROP'} DEFAULT on ${at.table}.${c.name as string}: catalog only; existing rows are unchanged` }));
  },
});
