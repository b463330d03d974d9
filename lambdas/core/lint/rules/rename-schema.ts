import { defineRule } from '../rule-helpers';

/** BC406: renaming a schema breaks every qualified reference (Prisma's ?schema=). */
export const renameSchema = defineRule({
  id: 'BC406',
  name: 'rename-schema',
  on: ['RenameStmt'],
  severity: 'careful',
  lock: 'catalog only',
  blocks: 'nothing; queries using the old name fail',
  rewrites: 'none',
  fix: 'Update every connection string (?schema=) and qualified reference in the same deploy',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'RenameStmt' || ctx.node.renameType !== 'OBJECT_SCHEMA') return [];
    return [{ message: `ALTER SCHEMA ${ctx.node.subname as string} RENAME TO ${ctx.node.newname as string}: every reference to the old name breaks` }];
  },
});
