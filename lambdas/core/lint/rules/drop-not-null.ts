import { alterTableOf, defineRule } from '../rule-helpers';

/** BC202: DROP NOT NULL is instant, but readers that assume non-null values break. */
export const dropNotNull = defineRule({
  id: 'BC202',
  name: 'drop-not-null',
  on: ['AlterTableStmt'],
  severity: 'careful',
  lock: 'ACCESS EXCLUSIVE, brief',
  blocks: 'everything for a moment (runs under lock_timeout)',
  rewrites: 'none',
  fix: 'Make sure every client (Prisma schema: optional field) handles NULL before deploying',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return at.cmds
      .filter((c) => c.subtype === 'AT_DropNotNull')
      .map((c) => ({ message: `DROP NOT NULL on ${at.table}.${c.name as string}: clients that assume a value will meet NULLs` }));
  },
});
