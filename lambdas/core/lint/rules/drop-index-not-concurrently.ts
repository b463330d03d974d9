import { qualifiedFromList, unwrap } from '../ast';
import { defineRule } from '../rule-helpers';

/** LK102: DROP INDEX takes ACCESS EXCLUSIVE on the table: brief, but it queues behind readers. */
export const dropIndexNotConcurrently = defineRule({
  id: 'LK102',
  name: 'drop-index-not-concurrently',
  on: ['DropStmt'],
  severity: 'careful',
  lock: 'ACCESS EXCLUSIVE on the table, brief',
  blocks: 'everything on the table while waiting and while dropping',
  rewrites: 'none',
  fix: 'DROP INDEX CONCURRENTLY IF EXISTS <name>;',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'DropStmt' || ctx.node.removeType !== 'OBJECT_INDEX' || ctx.node.concurrent) return [];
    const hits = [];
    for (const o of (ctx.node.objects as unknown[]) ?? []) {
      const name = qualifiedFromList(unwrap(o, 'List')?.items);
      const index = ctx.schema.indexes.get(name);
      if (index && ctx.isNewTable(index.table)) continue;
      if (index && index.createdMigration === ctx.migrationIndex) continue;
      hits.push({ message: `DROP INDEX ${name} without CONCURRENTLY takes ACCESS EXCLUSIVE on ${index?.table ?? 'its table'}`, table: index?.table, lock: index ? `ACCESS EXCLUSIVE on ${index.table} and ${name}, brief` : undefined });
    }
    return hits;
  },
});
