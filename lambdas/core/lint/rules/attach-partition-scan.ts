import { relationName, unwrap } from '../ast';
import { alterTableOf, defineRule } from '../rule-helpers';

/** LK408: ATTACH PARTITION scans the partition to prove the bound unless a validated CHECK already does. */
export const attachPartitionScan = defineRule({
  id: 'LK408',
  name: 'attach-partition-scan',
  on: ['AlterTableStmt'],
  severity: 'careful',
  lock: 'SHARE UPDATE EXCLUSIVE on the parent, ACCESS EXCLUSIVE on the partition for the scan',
  blocks: 'everything on the partition for the whole scan',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'Before attaching: ALTER TABLE <partition> ADD CONSTRAINT bound CHECK (<partition bound>) NOT VALID; VALIDATE CONSTRAINT bound; then ATTACH (PostgreSQL skips the scan) and drop the CHECK',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at) return [];
    return at.cmds.filter((c) => c.subtype === 'AT_AttachPartition').flatMap((c) => {
      const partition = relationName(unwrap(c.def, 'PartitionCmd')?.name);
      if (ctx.isNewTable(partition)) return [];
      const proven = [...(ctx.table(partition)?.checks.values() ?? [])].some((k) => k.kind === 'check' && k.validated && k.validatedIn !== ctx.txn.key && !k.notNullColumn);
      if (proven) return [];
      return [{ table: partition, message: `ATTACH PARTITION ${partition} scans it under ACCESS EXCLUSIVE to prove the partition bound (no validated CHECK matches it)` }];
    });
  },
});
