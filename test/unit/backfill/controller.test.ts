import { afterSuccess, afterTimeout, CAP_SHARE, dutySleepMs, fitCost, grownSize, lockTimeoutsIn, MAX_GROWTH, mostRecentFailed, pushOutcome, WINDOW, type ControllerState, type Outcome } from '../../../lambdas/core/backfill/controller';

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

  it.each([1, 2, 4])('grows from a size of %i (x1.2 alone would round back to it)', (size) => {
    expect(grownSize(size)).toBe(size + 1);
    expect(afterSuccess({ batchSize: size, msPerUnit: 0.01 }, size, 1, { ...limits, minBatchSize: 1 }).batchSize).toBe(size + 1);
  });
});

describe('a fixed cost per statement (round trips, a loaded CPU)', () => {
  const tight = { targetBatchMs: 20, minBatchSize: 1, maxBatchSize: 100_000, capMs: 100 };

  it.each([
    { case: 'time proportional to size', recent: [[100, 10], [200, 20], [400, 40], [800, 80]], fit: { fixedMs: 0, msPerUnit: 0.1 } },
    { case: 'a fixed 30 ms plus 0.05 ms a unit', recent: [[100, 35], [200, 40], [400, 50], [800, 70]], fit: { fixedMs: 30, msPerUnit: 0.05 } },
    { case: 'size makes no difference', recent: [[64, 31], [32, 29], [16, 30], [8, 32], [4, 28], [2, 30], [1, 30]], fit: { fixedMs: 30, msPerUnit: 0 } },
  ])('fits $case', ({ recent, fit }) => {
    const found = fitCost(recent as [number, number][]);
    expect(found?.fixedMs).toBeCloseTo(fit.fixedMs, 0);
    expect(found?.msPerUnit).toBeCloseTo(fit.msPerUnit, 1);
  });

  it.each([
    { case: 'fewer than 4 batches', recent: [[100, 10], [200, 20], [400, 40]] },
    { case: 'sizes less than 2x apart', recent: [[100, 10], [110, 12], [120, 11], [150, 14]] },
  ])('cannot fit $case', ({ recent }) => {
    expect(fitCost(recent as [number, number][])).toBeUndefined();
  });

  it('a batch shrunk to one row by a loaded CPU grows back instead of staying there', () => {
    // Prepare: halved from 64 to 1 while every batch took ~30 ms whatever its size (fixed cost > target).
    let state: ControllerState = { batchSize: 1, msPerUnit: 30, recent: [[64, 31], [32, 29], [16, 30], [8, 32], [4, 28], [2, 30]] };

    // Act: ten more batches, still ~30 ms each.
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      state = afterSuccess(state, state.batchSize, 30, tight);
      sizes.push(state.batchSize);
    }

    // Assess: growing every batch, never past what the cap leaves after the fixed cost.
    expect(sizes.every((size, i) => size > (i === 0 ? 1 : sizes[i - 1]))).toBe(true);
    expect(sizes[9]).toBeGreaterThan(10);
  });

  it.each([
    // 30 ms fixed + 0.5 ms a unit: the target (20 ms) leaves nothing, so the rows get half of it: 10 / 0.5 = 20 units.
    { case: 'the rows get what the target leaves, at least half of it', fixed: 30, size: 20 },
    // 85 ms fixed: the cap (100 ms, 90 % usable) leaves (90 - 85) / 0.5 = 10 units.
    { case: 'fixed cost plus rows stay under the cap', fixed: 85, size: 10 },
  ])('once the rows cost time again, $case', ({ fixed, size }) => {
    const cost = (units: number): [number, number] => [units, fixed + 0.5 * units];
    const recent = [cost(20), cost(40), cost(80), cost(100)];
    const next = afterSuccess({ batchSize: 150, msPerUnit: 0.8, recent }, 150, fixed + 75, tight);
    expect(next.batchSize).toBe(size);
  });

  it('with a small fixed cost the moving average alone sizes the batch, as before', () => {
    const recent: [number, number][] = [[100, 21], [200, 41], [400, 81], [800, 161]];
    expect(afterSuccess({ batchSize: 1000, msPerUnit: 0.2, recent }, 1000, 200, limits).batchSize).toBe(1000);
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
