import { describeBackfill, etaSeconds, formatDuration, type BackfillState } from '../../../lambdas/core/backfill';
import { bar } from '../../../bin/commands/backfill';

const state: BackfillState = {
  name: '20240125_fill_status',
  table: '"public"."users"',
  status: 'running',
  phase: 'main',
  strategy: 'range',
  walk: 'keys',
  lowerBound: ['0'],
  upperBound: ['1000000'],
  cursor: ['250000'],
  parts: null,
  batchSize: 40000,
  msPerUnit: 0.005,
  rowsDone: 250000,
  rowsScanned: 250000,
  rowsEstimate: 1000000,
  rowsStillMatching: 0,
  batches: 10,
  failedBatches: 0,
  setAside: [],
  holdReason: null,
  holdUntil: null,
  lastError: null,
  leaseOwner: 'w',
  leaseExpiresAt: null,
  checksum: 'x',
  startedAt: new Date(0),
  updatedAt: new Date(0),
  finishedAt: null,
  progress: 0.25,
  ratePerSec: 50000,
  activeSeconds: 5,
};

describe('progress', () => {
  it.each([
    { seconds: 0, text: '0s' },
    { seconds: 59.4, text: '59s' },
    { seconds: 64, text: '1m04s' },
    { seconds: 3725, text: '1h02m' },
  ])('formatDuration($seconds) = $text', ({ seconds, text }) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it.each([
    { case: 'running', change: {}, eta: 15 },
    { case: 'done', change: { status: 'done' as const }, eta: 0 },
    { case: 'no rate yet', change: { ratePerSec: 0 }, eta: null },
  ])('ETA when $case', ({ change, eta }) => {
    expect(etaSeconds({ ...state, ...change })).toBe(eta);
  });

  it('describes a running backfill on one line', () => {
    expect(describeBackfill(state)).toBe('20240125_fill_status  running (main) 25.0 %  250,000 rows changed  50,000 rows/s  ETA 15s');
  });

  it('describes a hold and a failure with their reasons', () => {
    expect(describeBackfill({ ...state, status: 'holding', holdReason: 'replication lag 40.0 s > 30 s' })).toContain('holding: replication lag 40.0 s > 30 s');
    expect(describeBackfill({ ...state, status: 'failed', lastError: '[57014] canceling statement' })).toContain('last error: [57014] canceling statement');
  });

  it('draws a bar with rate and ETA', () => {
    expect(bar(state, 8)).toBe('[##......]  25.0 % main   50,000 rows/s  250,000 rows  ETA 15s   ');
  });
});
