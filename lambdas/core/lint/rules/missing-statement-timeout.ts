import { isBlockingDdlLock, statementLocks } from '../locks';
import { defineRule } from '../rule-helpers';

/** TX202: lock-taking DDL without statement_timeout can hold its lock for as long as it runs. */
export const missingStatementTimeout = defineRule({
  id: 'TX202',
  name: 'missing-statement-timeout',
  severity: 'careful',
  lock: 'held for as long as the statement runs',
  blocks: 'whatever the lock blocks, without a bound',
  rewrites: 'none',
  fix: "SET statement_timeout = '5min';  at the top of the file (this rule applies with --timeouts file)",
  check(ctx) {
    if (ctx.options.timeouts === 'runner' || ctx.timeoutsSet.statement) return [];
    const locked = [...statementLocks(ctx.stmt)].filter(([t, m]) => isBlockingDdlLock(m) && !ctx.isNewTable(t));
    if (!locked.length) return [];
    return [{ message: `${locked.map(([t]) => t).join(', ')} locked with no statement_timeout set earlier in the file` }];
  },
});
