import { hasOption } from '../ast';
import { defineRule } from '../rule-helpers';

/** LK105: PostgreSQL 14.0-14.3 can silently corrupt indexes built or rebuilt CONCURRENTLY (fixed in 14.4). */
export const concurrentIndexBuggyPg14 = defineRule({
  id: 'LK105',
  name: 'concurrent-index-buggy-pg14',
  on: ['IndexStmt', 'ReindexStmt'],
  severity: 'dangerous',
  lock: 'SHARE UPDATE EXCLUSIVE',
  blocks: 'other schema changes; but the index may silently miss rows',
  rewrites: 'none',
  fix: 'Upgrade the server to 14.4 or later before building indexes CONCURRENTLY (then REINDEX the ones built on 14.0-14.3)',
  check(ctx) {
    const concurrent =
      (ctx.stmt.nodeType === 'IndexStmt' && Boolean(ctx.node.concurrent)) ||
      (ctx.stmt.nodeType === 'ReindexStmt' && hasOption(ctx.node, 'params', 'concurrently'));
    if (!concurrent || ctx.target.major !== 14) return [];
    if (ctx.target.minor === undefined) {
      return [{ severity: 'careful', message: 'Target is PostgreSQL 14 with an unknown minor version: 14.0-14.3 corrupt indexes built CONCURRENTLY; pass --pg-version 14.x' }];
    }
    if (ctx.target.minor >= 4) return [];
    return [{ message: `PostgreSQL 14.${ctx.target.minor} has the CONCURRENTLY index corruption bug (fixed in 14.4)` }];
  },
});
