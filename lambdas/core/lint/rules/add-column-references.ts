import { relationName } from '../ast';
import { columnsAddedToExistingTable, constraintOf, defineRule } from '../rule-helpers';

/**
 * LK303: ADD COLUMN ... REFERENCES without a DEFAULT: the new column is all NULL, so PostgreSQL
 * skips validation. The locks are brief; Squawk and strong_migrations over-flag this as dangerous.
 */
export const addColumnReferences = defineRule({
  id: 'LK303',
  name: 'add-column-references',
  on: ['AlterTableStmt'],
  severity: 'careful',
  lock: 'ACCESS EXCLUSIVE on the table + SHARE ROW EXCLUSIVE on the referenced table, brief',
  blocks: 'writes to the referenced table and everything on this table, for a moment',
  rewrites: 'none',
  fix: 'Nothing to rewrite; make sure lock_timeout is set (our apply sets it) since two tables are locked',
  check(ctx) {
    return columnsAddedToExistingTable(ctx).flatMap((col) => {
      const fk = constraintOf(col, 'CONSTR_FOREIGN');
      const def = constraintOf(col, 'CONSTR_DEFAULT');
      const nullDefault = (def?.raw_expr as { A_Const?: { isnull?: boolean } } | undefined)?.A_Const?.isnull;
      if (!fk || (def && !nullDefault)) return [];
      return [{ message: `ADD COLUMN ${col.name} REFERENCES ${relationName(fk.pktable)}: no validation scan (column is NULL), but two tables are locked briefly` }];
    });
  },
});
