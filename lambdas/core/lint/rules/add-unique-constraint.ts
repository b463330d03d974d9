import { unwrap } from '../ast';
import { alterTableOf, columnsAddedToExistingTable, constraintOf, defineRule } from '../rule-helpers';

/** LK306: ADD UNIQUE builds its index under ACCESS EXCLUSIVE. */
export const addUniqueConstraint = defineRule({
  id: 'LK306',
  name: 'add-unique-constraint',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a unique index build',
  blocks: 'everything, including SELECT, for the whole build',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'CREATE UNIQUE INDEX CONCURRENTLY <name> ON ...; then (next migration) ALTER TABLE ... ADD CONSTRAINT <name> UNIQUE USING INDEX <name>;',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    const hits = at.cmds.flatMap((cmd) => {
      const con = unwrap(cmd.def, 'Constraint');
      if (cmd.subtype !== 'AT_AddConstraint' || con?.contype !== 'CONSTR_UNIQUE' || con.indexname) return [];
      return [{ table: at.table, message: `ADD UNIQUE on ${at.table} builds the index under ACCESS EXCLUSIVE` }];
    });
    for (const col of columnsAddedToExistingTable(ctx)) {
      if (constraintOf(col, 'CONSTR_UNIQUE')) hits.push({ table: col.table, message: `ADD COLUMN ${col.name} UNIQUE builds a unique index on ${col.table} under ACCESS EXCLUSIVE` });
    }
    return hits;
  },
});
