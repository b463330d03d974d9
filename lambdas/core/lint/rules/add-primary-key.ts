import { unwrap } from '../ast';
import { alterTableOf, columnsAddedToExistingTable, constraintOf, defineRule } from '../rule-helpers';

/** LK307: ADD PRIMARY KEY builds an index (and may SET NOT NULL with a scan) under ACCESS EXCLUSIVE. */
export const addPrimaryKey = defineRule({
  id: 'LK307',
  name: 'add-primary-key',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for an index build (+ NOT NULL scan)',
  blocks: 'everything, including SELECT, for the whole build',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'CREATE UNIQUE INDEX CONCURRENTLY <name> ON ... (cols); make the columns NOT NULL with the three-step recipe; then ALTER TABLE ... ADD CONSTRAINT <pk> PRIMARY KEY USING INDEX <name>;',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    const hits = at.cmds.flatMap((cmd) => {
      const con = unwrap(cmd.def, 'Constraint');
      if (cmd.subtype !== 'AT_AddConstraint' || con?.contype !== 'CONSTR_PRIMARY' || con.indexname) return [];
      return [{ table: at.table, message: `ADD PRIMARY KEY on ${at.table} builds its index under ACCESS EXCLUSIVE (changing a primary key)` }];
    });
    for (const col of columnsAddedToExistingTable(ctx)) {
      if (constraintOf(col, 'CONSTR_PRIMARY')) hits.push({ table: col.table, message: `ADD COLUMN ${col.name} PRIMARY KEY builds an index on ${col.table} under ACCESS EXCLUSIVE` });
    }
    return hits;
  },
});
