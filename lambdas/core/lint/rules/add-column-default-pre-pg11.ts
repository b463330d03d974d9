import { columnsAddedToExistingTable, constraintOf, defineRule } from '../rule-helpers';

/** LK202: before PostgreSQL 11 any non-NULL DEFAULT on ADD COLUMN rewrites the table. */
export const addColumnDefaultPrePg11 = defineRule({
  id: 'LK202',
  name: 'add-column-default-pre-pg11',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a table rewrite',
  blocks: 'everything, including SELECT, for the whole rewrite',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'Add the column without a default, SET DEFAULT separately, backfill in batches (or upgrade to PostgreSQL 11+)',
  check(ctx) {
    if (ctx.target.major >= 11) return [];
    return columnsAddedToExistingTable(ctx).flatMap((col) => {
      const def = constraintOf(col, 'CONSTR_DEFAULT');
      const isNull = def && (def.raw_expr as { A_Const?: { isnull?: boolean } } | undefined)?.A_Const?.isnull;
      if (!def || isNull) return [];
      return [{ table: col.table, message: `ADD COLUMN ${col.name} with a DEFAULT rewrites ${col.table} on PostgreSQL ${ctx.target.major} (fast defaults arrived in 11)` }];
    });
  },
});
