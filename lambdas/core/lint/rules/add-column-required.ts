import { columnsAddedToExistingTable, constraintOf, defineRule, isSerial, quoteIdent, sqlName } from '../rule-helpers';

/** BC201: NOT NULL without DEFAULT fails on any existing row, and breaks the running app's INSERTs. */
export const addColumnRequired = defineRule({
  id: 'BC201',
  name: 'add-column-required',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE, brief',
  blocks: 'everything while waiting; then fails if the table has rows',
  rewrites: 'none',
  sizeSensitive: 'any-row',
  fix: 'Add the column nullable (or NOT NULL with a constant DEFAULT), backfill, then the three-step NOT NULL: CHECK (col IS NOT NULL) NOT VALID, VALIDATE, SET NOT NULL',
  check(ctx) {
    return columnsAddedToExistingTable(ctx).flatMap((col) => {
      if (!constraintOf(col, 'CONSTR_NOTNULL') && !constraintOf(col, 'CONSTR_PRIMARY')) return [];
      if (constraintOf(col, 'CONSTR_DEFAULT') || constraintOf(col, 'CONSTR_IDENTITY') || constraintOf(col, 'CONSTR_GENERATED') || isSerial(col.type)) return [];
      return [{
        table: col.table,
        message: `ADD COLUMN ${col.name} NOT NULL without a DEFAULT fails if ${col.table} has any row, and the running app's INSERTs that omit it fail`,
        fix: `ALTER TABLE ${sqlName(col.table)} ADD COLUMN ${quoteIdent(col.name)} <type> NOT NULL DEFAULT <constant>;  or add it nullable, backfill, then the three-step NOT NULL`,
      }];
    });
  },
});
