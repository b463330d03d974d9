import { relationName, unwrap } from '../ast';
import { alterTableOf, defineRule } from '../rule-helpers';

/** LK407: DETACH PARTITION without CONCURRENTLY (PostgreSQL 14+) takes ACCESS EXCLUSIVE on the parent. */
export const detachPartitionBlocking = defineRule({
  id: 'LK407',
  name: 'detach-partition-blocking',
  on: ['AlterTableStmt'],
  severity: 'careful',
  lock: 'ACCESS EXCLUSIVE on the parent and the partition',
  blocks: 'every query on the partitioned table while waiting and while held',
  rewrites: 'none',
  fix: 'ALTER TABLE <parent> DETACH PARTITION <partition> CONCURRENTLY;  (runs outside a transaction; our apply runs it alone)',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.target.major < 14) return [];
    return at.cmds
      .filter((c) => c.subtype === 'AT_DetachPartition' && !unwrap(c.def, 'PartitionCmd')?.concurrent)
      .map((c) => ({ message: `DETACH PARTITION ${relationName(unwrap(c.def, 'PartitionCmd')?.name)} takes ACCESS EXCLUSIVE on ${at.table}` }));
  },
});
