import { alterTableOf, defineRule } from '../rule-helpers';

/** BC301: dropping a foreign key known from the history: brief lock, but integrity is no longer enforced. */
export const dropForeignKey = defineRule({
  id: 'BC301',
  name: 'drop-foreign-key',
  on: ['AlterTableStmt'],
  severity: 'careful',
  lock: 'ACCESS EXCLUSIVE, brief (on the referenced table too)',
  blocks: 'everything on both tables for a moment',
  rewrites: 'none',
  fix: 'Make sure nothing relies on the constraint (cascades, orphan checks); keep a rollback.sql that re-adds it NOT VALID',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    const table = ctx.table(at.table);
    return at.cmds
      .filter((c) => c.subtype === 'AT_DropConstraint' && table?.foreignKeys.has(c.name as string))
      .map((c) => ({ message: `DROP CONSTRAINT ${c.name as string} removes a foreign key of ${at.table}: referential integrity is no longer enforced` }));
  },
});
