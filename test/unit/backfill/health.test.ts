import { evaluateHealth, type HealthSample } from '../../../lambdas/core/backfill/health';
import { definitionFromJson } from '../../../lambdas/core/backfill/definition';

const limits = definitionFromJson(
  { table: 't', key: 'id', set: { a: '1' }, where: 'a IS NULL', health: { maxWalBytesPerSecond: 1_000_000, holdSeconds: 45 } },
  'x',
).health;

describe('evaluateHealth', () => {
  it.each<{ case: string; sample: HealthSample; reason: RegExp | undefined }>([
    { case: 'healthy', sample: { replicationLagSeconds: 1, walBytesPerSecond: 10, oldestTransactionSeconds: 3 }, reason: undefined },
    { case: 'no replicas, nothing known', sample: {}, reason: undefined },
    { case: 'replica lag over 30 s', sample: { replicationLagSeconds: 31 }, reason: /replication lag 31\.0 s > 30 s/ },
    { case: 'WAL rate over the limit', sample: { walBytesPerSecond: 2_000_000 }, reason: /WAL rate 2000000 B\/s > 1000000 B\/s/ },
    { case: 'transaction open 301 s', sample: { oldestTransactionSeconds: 301 }, reason: /open 301 s > 300 s \(xmin horizon\)/ },
    { case: 'anti-wraparound autovacuum', sample: { autovacuum: 'wraparound' }, reason: /anti-wraparound autovacuum/ },
    { case: 'ordinary autovacuum (default: not a hold)', sample: { autovacuum: 'running' }, reason: undefined },
  ])('$case', ({ sample, reason }) => {
    const hold = evaluateHealth(sample, limits);
    expect(hold?.reason).toEqual(reason ? expect.stringMatching(reason) : undefined);
    expect(hold?.waitSeconds).toBe(reason ? 45 : undefined);
  });

  it.each([
    { autovacuum: 'always' as const, sample: 'running' as const, holds: true },
    { autovacuum: 'never' as const, sample: 'wraparound' as const, holds: false },
  ])('autovacuum "$autovacuum" with $sample vacuum: hold $holds', ({ autovacuum, sample, holds }) => {
    expect(evaluateHealth({ autovacuum: sample }, { ...limits, autovacuum }) !== undefined).toBe(holds);
  });

  it('WAL rate is not limited by default', () => {
    const defaults = definitionFromJson({ table: 't', key: 'id', set: { a: '1' }, where: 'a IS NULL' }, 'x').health;
    expect(evaluateHealth({ walBytesPerSecond: 1e12 }, defaults)).toBeUndefined();
  });
});
