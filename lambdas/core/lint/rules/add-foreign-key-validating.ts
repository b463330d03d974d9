import { relationName, unwrap } from '../ast';
import { alterTableOf, columnsAddedToExistingTable, constraintOf, defineRule, quoteIdent, sqlName } from '../rule-helpers';

/** LK302: a validating FOREIGN KEY scans the table holding SHARE ROW EXCLUSIVE on both tables. */
export const addForeignKeyValidating = defineRule({
  id: 'LK302',
  name: 'add-foreign-key-validating',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'SHARE ROW EXCLUSIVE on both tables for a full scan',
  blocks: 'writes to both tables for the whole scan',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID; then VALIDATE CONSTRAINT in a later migration',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    const hits = at.cmds.flatMap((cmd) => {
      const con = unwrap(cmd.def, 'Constraint');
      if (cmd.subtype !== 'AT_AddConstraint' || con?.contype !== 'CONSTR_FOREIGN' || con.skip_validation) return [];
      const ref = relationName(con.pktable);
      const name = (con.conname as string | undefined) ?? `${at.table.split('.').pop()}_fkey`;
      return [{
        table: at.table,
        lock: `SHARE ROW EXCLUSIVE on ${at.table} and ${ref}`,
        message: `ADD FOREIGN KEY ${name} without NOT VALID scans ${at.table}, blocking writes to ${at.table} and ${ref}`,
        fix: `ALTER TABLE ${sqlName(at.table)} ADD CONSTRAINT ${quoteIdent(name)} FOREIGN KEY (...) REFERENCES ${sqlName(ref)} (...) NOT VALID; -- later migration: ALTER TABLE ${sqlName(at.table)} VALIDATE CONSTRAINT ${quoteIdent(name)};`,
      }];
    });
    for (const col of columnsAddedToExistingTable(ctx)) {
      const fk = constraintOf(col, 'CONSTR_FOREIGN');
      const def = constraintOf(col, 'CONSTR_DEFAULT');
      const nullDefault = (def?.raw_expr as { A_Const?: { isnull?: boolean } } | undefined)?.A_Const?.isnull;
      if (!fk || !def || nullDefault) continue;
      hits.push({
        table: col.table,
        lock: `ACCESS EXCLUSIVE on ${col.table}, SHARE ROW EXCLUSIVE on ${relationName(fk.pktable)}`,
        message: `ADD COLUMN ${col.name} REFERENCES ${relationName(fk.pktable)} with a DEFAULT: every existing row must be checked against the referenced table`,
        fix: `Add the column without a default (no validation needed), or add it plain and the FOREIGN KEY as NOT VALID, then VALIDATE later`,
      });
    }
    return hits;
  },
});
