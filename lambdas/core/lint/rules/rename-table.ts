import { relationName } from '../ast';
import { defineRule } from '../rule-helpers';

/** BC405: renaming a table breaks the running application, unless a view keeps the old name alive. */
export const renameTable = defineRule({
  id: 'BC405',
  name: 'rename-table',
  on: ['RenameStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE, brief',
  blocks: 'everything for a moment; then every query using the old name fails',
  rewrites: 'none',
  fix: 'In the same migration: CREATE VIEW <old name> AS SELECT * FROM <new name>; (simple views are updatable); drop the view once no code uses the old name',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'RenameStmt' || ctx.node.renameType !== 'OBJECT_TABLE') return [];
    const from = relationName(ctx.node.relation);
    if (ctx.isNewTable(from)) return [];
    const compat = ctx.statements.some((s) => s.index > ctx.stmt.index && s.nodeType === 'ViewStmt' && relationName(s.node.view) === from);
    if (compat) return [{ severity: 'careful', message: `RENAME ${from} TO ${ctx.node.newname as string}, with a compatibility view keeping the old name` }];
    return [{ message: `RENAME ${from} TO ${ctx.node.newname as string}: the running app still uses the old name` }];
  },
});
