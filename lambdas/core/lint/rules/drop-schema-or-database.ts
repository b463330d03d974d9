import { strings } from '../ast';
import { defineRule } from '../rule-helpers';

/** BC403: DROP SCHEMA / DROP DATABASE removes everything inside. */
export const dropSchemaOrDatabase = defineRule({
  id: 'BC403',
  name: 'drop-schema-or-database',
  on: ['DropStmt', 'DropdbStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE on everything inside',
  blocks: 'everything inside; and the data is gone',
  rewrites: 'none',
  fix: 'Never in a migration: drop the objects one by one after they are unused, with a backup',
  check(ctx) {
    if (ctx.stmt.nodeType === 'DropdbStmt') return [{ message: `DROP DATABASE ${ctx.node.dbname as string} in a migration` }];
    if (ctx.stmt.nodeType !== 'DropStmt' || ctx.node.removeType !== 'OBJECT_SCHEMA') return [];
    const cascade = ctx.node.behavior === 'DROP_CASCADE';
    return [{ message: `DROP SCHEMA ${strings(ctx.node.objects).join(', ')}${cascade ? ' CASCADE deletes every object inside' : ''}` }];
  },
});
