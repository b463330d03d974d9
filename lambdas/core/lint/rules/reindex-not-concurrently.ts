import { hasOption, relationName } from '../ast';
import { defineRule } from '../rule-helpers';

/** LK103: REINDEX without CONCURRENTLY locks out writes, and reads that would use the index. */
export const reindexNotConcurrently = defineRule({
  id: 'LK103',
  name: 'reindex-not-concurrently',
  on: ['ReindexStmt'],
  severity: 'dangerous',
  lock: 'SHARE on the table + ACCESS EXCLUSIVE on the index(es)',
  blocks: 'writes, and every read planned to use the index: effectively the table',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'REINDEX (CONCURRENTLY) INDEX <name>;  (PostgreSQL 12+)',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'ReindexStmt' || hasOption(ctx.node, 'params', 'concurrently')) return [];
    const what = ctx.node.relation ? relationName(ctx.node.relation) : ((ctx.node.name as string | undefined) ?? 'the database');
    const table = ctx.node.kind === 'REINDEX_OBJECT_TABLE' ? what : undefined;
    if (ctx.target.major < 12) {
      return [{ table, severity: 'careful', message: `REINDEX of ${what} blocks writes and index reads; CONCURRENTLY needs PostgreSQL 12 (target ${ctx.target.major}): run it in a quiet window`, fix: 'Upgrade to 12+ for REINDEX CONCURRENTLY, or CREATE INDEX CONCURRENTLY a copy and drop the old one' }];
    }
    return [{ message: `REINDEX of ${what} without CONCURRENTLY blocks writes and reads that use the index for the whole rebuild`, table }];
  },
});
