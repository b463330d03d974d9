import { relationName } from '../ast';
import { defineRule } from '../rule-helpers';

/** LK402: CLUSTER rewrites the table in index order under ACCESS EXCLUSIVE. */
export const cluster = defineRule({
  id: 'LK402',
  name: 'cluster',
  on: ['ClusterStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a full rewrite',
  blocks: 'everything, including SELECT, for the whole rewrite',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'Use pg_repack --order-by to recluster online',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'ClusterStmt') return [];
    const table = ctx.node.relation ? relationName(ctx.node.relation) : undefined;
    if (table && ctx.isNewTable(table)) return [];
    return [{ table, message: `CLUSTER ${table ?? '(every clustered table)'} rewrites under ACCESS EXCLUSIVE` }];
  },
});
