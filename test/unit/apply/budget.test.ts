import { TimeBudget } from '../../../lambdas/core/apply';
import type { Clock } from '../../../lambdas/core/ports';

function fakeTime(startMs: number) {
  let now = startMs;
  const clock: Clock = { now: () => new Date(now), sleep: async (ms) => void (now += ms) };
  return { clock, advance: (ms: number) => void (now += ms), now: () => now };
}

describe('TimeBudget', () => {
  it('lets a migration start only while more than the margin plus the slowest migration is left', () => {
    // Prepare: a 60 s invocation, 10 s margin
    const time = fakeTime(1_000_000);
    const deadline = time.now() + 60_000;
    const budget = new TimeBudget({ remainingMs: () => deadline - time.now(), marginMs: 10_000 }, time.clock);
    // Act / Assess: the first migration takes 20 s
    expect(budget.allowsNext()).toBe(true);
    time.advance(20_000);
    budget.finished();
    // 40 s left >= 10 s + 20 s: the next one may start; it takes 5 s
    expect(budget.allowsNext()).toBe(true);
    time.advance(5_000);
    budget.finished();
    // 35 s left >= 30 s: one more, 6 s
    expect(budget.allowsNext()).toBe(true);
    time.advance(6_000);
    budget.finished();
    // 29 s left < 10 s + the slowest (20 s): stop
    expect(budget.allowsNext()).toBe(false);
    expect(budget.facts()).toEqual({ remainingMs: 29_000, slowestMs: 20_000 });
  });

  it('refuses the first migration when less than the margin is left', () => {
    const time = fakeTime(0);
    const budget = new TimeBudget({ remainingMs: () => 9_999, marginMs: 10_000 }, time.clock);
    expect(budget.allowsNext()).toBe(false);
  });
});
