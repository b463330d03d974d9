import { isOwed } from '../../../lambdas/core/apply';

describe('isOwed: which applied backfills a deploy must finish first (one rule for the Lambda and the CLI)', () => {
  it.each([
    // state row               newest applied?  owed
    [undefined, true, true], // never started, the deploy stopped (or died) right after its migration
    [undefined, false, false], // never started, later migrations applied after it: not the runner's barrier
    [{ status: 'running' as const }, false, true],
    [{ status: 'holding' as const }, false, true],
    [{ status: 'paused' as const }, true, true],
    [{ status: 'failed' as const }, false, true],
    [{ status: 'cancelled' as const }, false, true],
    [{ status: 'done' as const }, true, false],
    [{ status: 'done' as const }, false, false],
  ])('state %j, newest applied %s -> owed %s', (state, newestApplied, owed) => {
    expect(isOwed(state, newestApplied)).toBe(owed);
  });
});
