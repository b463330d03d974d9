import { list, unwrap } from '../ast';
import { defineRule } from '../rule-helpers';

const LIMIT_MS = 10_000;
const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a timeout setting ('3s', 500, '1min'); undefined for DEFAULT or unparseable values. */
export function timeoutMs(value: unknown): number | undefined {
  const c = unwrap(value, 'A_Const');
  if (!c) return undefined;
  if (c.ival) return ((c.ival as { ival?: number }).ival ?? 0);
  const s = (c.sval as { sval?: string } | undefined)?.sval?.trim();
  if (s === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?$/.exec(s);
  return m ? Number(m[1]) * UNIT_MS[m[2] ?? 'ms'] : undefined;
}

/** TX203: lock_timeout of 0 (wait forever) or above 10 s lets a queue build behind the DDL. */
export const lockTimeoutTooLong = defineRule({
  id: 'TX203',
  name: 'lock-timeout-too-long',
  on: ['VariableSetStmt'],
  severity: 'careful',
  lock: 'none',
  blocks: 'later DDL may wait this long, queueing traffic behind it',
  rewrites: 'none',
  fix: "SET lock_timeout = '3s';  (short, with retries: our apply retries lock timeouts)",
  check(ctx) {
    if (ctx.stmt.nodeType !== 'VariableSetStmt' || (ctx.node.name as string | undefined)?.toLowerCase() !== 'lock_timeout') return [];
    const ms = timeoutMs(list(ctx.node, 'args')[0]);
    if (ms === undefined || (ms > 0 && ms <= LIMIT_MS)) return [];
    return [{ message: ms === 0 ? 'lock_timeout = 0 disables the timeout: DDL waits for its lock forever while traffic queues behind it' : `lock_timeout of ${ms / 1000} s lets traffic queue behind a waiting DDL statement for that long (limit ${LIMIT_MS / 1000} s)` }];
  },
});
