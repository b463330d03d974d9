import { afterSuccess, afterTimeout, CAP_SHARE, dutySleepMs, lockTimeoutsIn, MAX_GROWTH, mostRecentFailed, pushOutcome, WINDOW, type Outcome } from '../../../lambdas/core/backfill/controller';

const limits = { targetBatchMs: 200, minBatchSize: 10, maxBatchSize: 100_000 };

describe('batch size by time', () => {
  it.each([
    { case: 'fast batch: growth capped at x1.2', state: { batchSize: 1000, msPerUnit: 0.01 }, units: 1000, ms: 10, size: 1000 * MAX_GROWTH },
    { case: 'on target: stays', state: { batchSize: 1000, msPerUnit: 0.2 }, units: 1000, ms: 200, size: 1000 },
    { case: 'twice too slow: believed at once, halves', state: { batchSize: 1000, msPerUnit: 0.2 }, units: 1000, ms: 400, size: 500 },
    { case: 'first measurement sets the average', state: { batchSize: 1000 }, units: 1000, ms: 1000, size: 200 },
    { case: 'never above the maximum', state: { batchSize: 99_000, msPerUnit: 0.0001 }, units: 99_000, ms: 5, size: 100_000 },
    { case: 'never below the minimum', state: { batchSize: 20, msPerUnit: 100 }, units: 20, ms: 5000, size: 10 },
    { case: 'empty batch: grows', state: { batchSize: 1000, msPerUnit: 0.2 }, units: 0, ms: 1, size: 1200 },
  ])('$case', ({ state, units, ms, size }) => {
    expect(afterSuccess(state, units, ms, limits).batchSize).toBe(Math.floor(size));
  });

  it('blends faster measurements into the average instead of jumping', () => {
    const next = afterSuccess({ batchSize: 1000, msPerUnit: 0.4 }, 1000, 100, limits);
    expect(next.msPerUnit).toBeCloseTo(0.3 * 0.1 + 0.7 * 0.4);
  });

  it('halves at once on a timeout, and the average agrees so the next success does not jump back', () => {
    const state = afterTimeout({ batchSize: 1000, msPerUnit: 0.05 }, limits);
    expect(state.batchSize).toBe(500);
    expect(afterSuccess(state, 500, 10, limits).batchSize).toBeLessThanOrEqual(600);
  });

  describe('the cap: room for the noise recent batches showed', () => {
    const capped = { ...limits, capMs: 240 };

    it('a batch 30 % slower than predicted keeps the next one under the cap even if it is that slow again', () => {
      // Predicted 200 ms (1000 x 0.2), took 260: believed at once (0.26 ms/unit), surprise 1.3.
      const next = afterSuccess({ batchSize: 1000, msPerUnit: 0.2 }, 1000, 260, capped);
      expect(next.surprises).toEqual([1.3]);
      expect(next.batchSize).toBe(Math.floor((CAP_SHARE * 240) / (0.26 * 1.3)));
      expect(next.batchSize * 0.26 * 1.3).toBeLessThanOrEqual(240);
    });

    it('without surprises, or without a cap, the target alone sets the size', () => {
      expect(afterSuccess({ batchSize: 1000, msPerUnit: 0.2 }, 1000, 200, capped).batchSize).toBe(1000);
      expect(afterSuccess({ batchSize: 1000, msPerUnit: 0.2, surprises: [1.5] }, 1000, 200, limits).batchSize).toBe(1000);
    });

    it('remembers the last 10 surprises only: an old slow batch stops shrinking the size', () => {
      let state = afterSuccess({ batchSize: 1000, msPerUnit: 0.2 }, 1000, 300, capped);
      for (let i = 0; i < 10; i++) state = afterSuccess(state, state.batchSize, state.batchSize * (state.msPerUnit ?? 0), capped);
      expect(state.surprises).toHaveLength(10);
      expect(Math.max(...(state.surprises ?? []))).toBeCloseTo(1);
    });

    it('a statement timeout counts as a surprise of at least cap / predicted', () => {
      const state = afterTimeout({ batchSize: 1000, msPerUnit: 0.2 }, capped, 240);
      expect(state.surprises).toEqual([1.2]);
      expect(afterTimeout({ batchSize: 1000, msPerUnit: 0.2 }, capped).surprises).toBeUndefined();
    });
  });

  it('never halves below the minimum', () => {
    expect(afterTimeout({ batchSize: 15 }, limits).batchSize).toBe(10);
  });
});

describe('duty cycle', () => {
  it.each([
    { duty: 1, ms: 200, sleep: 0 },
    { duty: 0.5, ms: 200, sleep: 200 },
    { duty: 0.8, ms: 200, sleep: 50 },
  ])('duty $duty after $ms ms sleeps $sleep ms', ({ duty, ms, sleep }) => {
    expect(dutySleepMs(ms, duty)).toBe(sleep);
  });
});

describe('outcome window', () => {
  const fill = (outcomes: Outcome[]) => outcomes.reduce<Outcome[]>((w, o) => pushOutcome(w, o), []);

  it('keeps the last 10', () => {
    expect(fill(Array(15).fill('ok'))).toHaveLength(WINDOW);
  });
  it.each([
    { case: '6 of 10 statement timeouts', outcomes: [...Array(4).fill('ok'), ...Array(6).fill('statement-timeout')], failed: true },
    { case: '5 of 10 statement timeouts', outcomes: [...Array(5).fill('ok'), ...Array(5).fill('statement-timeout')], failed: false },
    { case: 'a short window', outcomes: Array(5).fill('statement-timeout'), failed: false },
    { case: 'lock timeouts (contention, held instead)', outcomes: Array(10).fill('lock-timeout'), failed: false },
  ])('most recent batches failed: $case -> $failed', ({ outcomes, failed }) => {
    expect(mostRecentFailed(fill(outcomes as Outcome[]))).toBe(failed);
  });
  it('counts lock timeouts', () => {
    expect(lockTimeoutsIn(fill(['ok', 'lock-timeout', 'statement-timeout', 'lock-timeout']))).toBe(2);
  });
});
