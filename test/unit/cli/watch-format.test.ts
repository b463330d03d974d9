import { describeFailure, exitCodeFor, formatDuration, formatProgress } from '../../../bin/aws/watch';

describe('formatDuration', () => {
  it.each([
    [0, '0.0s'],
    [-5, '0.0s'],
    [400, '0.4s'],
    [59_949, '59.9s'],
    [60_000, '1m00s'],
    [150_000, '2m30s'],
    [3_599_000, '59m59s'],
    [3_600_000, '1h00m'],
    [5_430_000, '1h30m'],
  ])('%i ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatProgress', () => {
  const base = { name: 'users_status', status: 'running', rowsDone: 1234, rowsEstimate: 10_000, ratePerSec: 99.6, etaSeconds: 88 };

  it.each([
    [base, false, 'backfill users_status: 1,234/10,000 rows (12.3%), 100 rows/s, ETA 1m28s'],
    [base, true, 'backfill users_status [###---------------------] 12.3% 1,234/10,000 rows 100 rows/s ETA 1m28s'],
    // The estimate comes from pg_class.reltuples: it can be 0 (never analyzed) or below the rows done.
    [{ ...base, rowsEstimate: 0, etaSeconds: null }, false, 'backfill users_status: 1,234/0 rows (0.0%), 100 rows/s, ETA ?'],
    [{ ...base, rowsEstimate: 1000 }, true, 'backfill users_status [########################] 100.0% 1,234/1,000 rows 100 rows/s ETA 1m28s'],
    [{ ...base, status: 'holding', ratePerSec: 0, etaSeconds: null }, false, 'backfill users_status: 1,234/10,000 rows (12.3%), 0 rows/s, ETA ?, holding'],
  ] as const)('%j (bar: %s)', (progress, bar, text) => {
    expect(formatProgress(progress, bar)).toBe(text);
  });
});

describe('describeFailure', () => {
  it.each([
    ['MigrationFailedError', '{"errorType":"MigrationFailedError","errorMessage":"P3018: boom","trace":["at x"]}', 'MigrationFailedError: P3018: boom'],
    ['States.Timeout', 'Task timed out after 900 seconds', 'States.Timeout: Task timed out after 900 seconds'],
    ['States.TaskFailed', undefined, 'States.TaskFailed'],
    [undefined, undefined, 'Error'],
  ])('(%s, %s) -> %s', (error, cause, text) => {
    expect(describeFailure(error, cause)).toBe(text);
  });

  it('trims a very long cause', () => {
    const text = describeFailure('E', 'x'.repeat(5000));
    expect(text).toBe(`E: ${'x'.repeat(2000)}...`);
  });
});

describe('exitCodeFor', () => {
  it.each([
    ['SUCCEEDED', 0],
    ['FAILED', 1],
    ['TIMED_OUT', 1],
    ['ABORTED', 1],
    ['STILL_RUNNING', 3],
  ] as const)('%s -> %i', (status, code) => {
    expect(exitCodeFor(status)).toBe(code);
  });
});
