import { relationName } from '../ast';
import { defineRule } from '../rule-helpers';

/** LK101: a plain CREATE INDEX holds SHARE for the whole build: every write waits. */
export const createIndexNotConcurrently = defineRule({
  id: 'LK101',
  name: 'create-index-not-concurrently',
  on: ['IndexStmt'],
  severity: 'dangerous',
  lock: 'SHARE for the whole index build',
  blocks: 'INSERT, UPDATE, DELETE for the whole build; reads continue',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'CREATE INDEX CONCURRENTLY (alone in its migration or next to other non-transactional statements; our apply runs it in autocommit)',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'IndexStmt' || ctx.node.concurrent) return [];
    const table = relationName(ctx.node.relation);
    if (ctx.isNewTable(table)) return [];
    const unique = ctx.node.unique ? 'UNIQUE ' : '';
    if (ctx.table(table)?.partitioned) {
      // ON ONLY creates an invalid parent index without building anything.
      if (!(ctx.node.relation as { inh?: boolean }).inh) return [];
      return [{
        table,
        message: `CREATE ${unique}INDEX on partitioned ${table} builds it on every partition under SHARE, and CONCURRENTLY is not supported on a partitioned table`,
        lock: `SHARE on ${table} and every partition`,
        fix: 'CREATE INDEX <name> ON ONLY <parent> (...); then for each partition: CREATE INDEX CONCURRENTLY <part_name> ON <partition> (...); ALTER INDEX <name> ATTACH PARTITION <part_name>;',
      }];
    }
    return [{ table, message: `CREATE ${unique}INDEX on ${table} without CONCURRENTLY blocks writes to it for the whole build`, lock: `SHARE on ${table}` }];
  },
});
