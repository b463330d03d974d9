import { unwrap } from '../ast';
import { alterTableOf, defineRule } from '../rule-helpers';

/** LK309: EXCLUDE constraints build an index under ACCESS EXCLUSIVE and cannot be NOT VALID. */
export const addExclusionConstraint = defineRule({
  id: 'LK309',
  name: 'add-exclusion-constraint',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for an index build',
  blocks: 'everything, including SELECT, for the whole build',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'No online path exists (no NOT VALID, no USING INDEX): add it in a maintenance window, or enforce it in the application until then',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return at.cmds
      .filter((c) => c.subtype === 'AT_AddConstraint' && unwrap(c.def, 'Constraint')?.contype === 'CONSTR_EXCLUSION')
      .map(() => ({ table: at.table, message: `ADD EXCLUDE constraint on ${at.table} builds its index under ACCESS EXCLUSIVE; there is no NOT VALID form` }));
  },
});
