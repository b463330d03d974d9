import { defineRule, quoteIdent } from '../rule-helpers';

/**
 * LK104: a failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind; re-running the
 * migration then fails on the name (or, unnamed, builds a second copy).
 */
export const concurrentIndexNotIdempotent = defineRule({
  id: 'LK104',
  name: 'concurrent-index-not-idempotent',
  on: ['IndexStmt'],
  severity: 'careful',
  lock: 'SHARE UPDATE EXCLUSIVE',
  blocks: 'other schema changes and VACUUM on the table; reads and writes continue',
  rewrites: 'none',
  fix: 'DROP INDEX CONCURRENTLY IF EXISTS <name>; CREATE INDEX CONCURRENTLY IF NOT EXISTS <name> ON ...;',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'IndexStmt' || !ctx.node.concurrent) return [];
    if (!ctx.node.idxname) return [{ message: 'CREATE INDEX CONCURRENTLY without a name: a re-run after a failure builds a second index next to the INVALID one' }];
    if (ctx.node.if_not_exists) return [];
    const name = ctx.node.idxname as string;
    const droppedBefore = ctx.statements.some(
      (s) =>
        s.index < ctx.stmt.index &&
        s.nodeType === 'DropStmt' &&
        s.node.removeType === 'OBJECT_INDEX' &&
        JSON.stringify(s.node.objects).includes(JSON.stringify({ sval: name })),
    );
    if (droppedBefore) return [];
    return [{ message: `CREATE INDEX CONCURRENTLY ${name} is not re-runnable: after a failure the INVALID index blocks the name`, fix: `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(name)}; then CREATE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(name)} ...` }];
  },
});
