import { isBlockingDdlLock, statementLocks } from '../locks';
import { defineRule } from '../rule-helpers';

/** TX201: lock-taking DDL without lock_timeout: a blocked request queues every later query behind it. */
export const missingLockTimeout = defineRule({
  id: 'TX201',
  name: 'missing-lock-timeout',
  severity: 'careful',
  lock: 'the statement waits for its lock without limit',
  blocks: 'every query queued behind the waiting request',
  rewrites: 'none',
  fix: "SET lock_timeout = '3s';  at the top of the file (our apply sets it and retries; this rule applies with --timeouts file)",
  check(ctx) {
    if (ctx.options.timeouts === 'runner' || ctx.timeoutsSet.lock) return [];
    const locked = [...statementLocks(ctx.stmt)].filter(([t, m]) => isBlockingDdlLock(m) && !ctx.isNewTable(t));
    if (!locked.length) return [];
    return [{ message: `${locked.map(([t, m]) => `${m} on ${t}`).join(', ')} requested with no lock_timeout set earlier in the file` }];
  },
});
