import { unwrap } from '../ast';
import { alterTableOf, defineRule, quoteIdent, sqlName } from '../rule-helpers';

/** LK301: ADD CHECK without NOT VALID scans every row under ACCESS EXCLUSIVE. */
export const addCheckValidating = defineRule({
  id: 'LK301',
  name: 'add-check-validating',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a full table scan',
  blocks: 'everything, including SELECT, for the whole scan',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'ADD CONSTRAINT ... CHECK (...) NOT VALID; then VALIDATE CONSTRAINT in a later migration (SHARE UPDATE EXCLUSIVE: reads and writes continue)',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return at.cmds.flatMap((cmd) => {
      const con = unwrap(cmd.def, 'Constraint');
      if (cmd.subtype !== 'AT_AddConstraint' || con?.contype !== 'CONSTR_CHECK' || con.skip_validation) return [];
      const name = (con.conname as string | undefined) ?? `${at.table.split('.').pop()}_check`;
      return [{
        table: at.table,
        message: `ADD CONSTRAINT ${name} CHECK without NOT VALID scans every row of ${at.table} under ACCESS EXCLUSIVE`,
        fix: `ALTER TABLE ${sqlName(at.table)} ADD CONSTRAINT ${quoteIdent(name)} CHECK (...) NOT VALID; -- later migration: ALTER TABLE ${sqlName(at.table)} VALIDATE CONSTRAINT ${quoteIdent(name)};`,
      }];
    });
  },
});
