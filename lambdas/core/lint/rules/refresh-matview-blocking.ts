import { relationName } from '../ast';
import { defineRule } from '../rule-helpers';

/** LK403: REFRESH MATERIALIZED VIEW without CONCURRENTLY locks readers out for the recompute. */
export const refreshMatviewBlocking = defineRule({
  id: 'LK403',
  name: 'refresh-matview-blocking',
  on: ['RefreshMatViewStmt'],
  severity: 'careful',
  lock: 'ACCESS EXCLUSIVE on the materialized view for the recompute',
  blocks: 'every read of the materialized view until the query finishes',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'REFRESH MATERIALIZED VIEW CONCURRENTLY <name>; (needs a unique index on the view)',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'RefreshMatViewStmt' || ctx.node.concurrent) return [];
    const view = relationName(ctx.node.relation);
    if (ctx.isNewTable(view)) return [];
    return [{ table: view, message: `REFRESH MATERIALIZED VIEW ${view} blocks its readers for the whole recompute` }];
  },
});
