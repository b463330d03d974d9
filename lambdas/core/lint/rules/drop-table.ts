import { list, qualifiedFromList, unwrap } from '../ast';
import { defineRule } from '../rule-helpers';

/** BC402: DROP TABLE of a table that existed before this migration: data loss. */
export const dropTable = defineRule({
  id: 'BC402',
  name: 'drop-table',
  on: ['DropStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE on the table (and referencing tables)',
  blocks: 'everything on the table; and the data is gone',
  rewrites: 'none',
  fix: 'Stop using the table in a previous deploy, take a snapshot, rename it aside first (e.g. _deprecated_<name>) and drop it later',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'DropStmt' || ctx.node.removeType !== 'OBJECT_TABLE') return [];
    const tables = list(ctx.node, 'objects').map((o) => qualifiedFromList(unwrap(o, 'List')?.items)).filter((t) => !ctx.isNewTable(t));
    return tables.map((t) => ({ message: `DROP TABLE ${t}${ctx.node.behavior === 'DROP_CASCADE' ? ' CASCADE' : ''} deletes the table and its data` }));
  },
});
