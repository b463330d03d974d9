import { definitionFromJson, parseBackfillDefinition, whereRequiresNull } from '../../../lambdas/core/backfill/definition';
import { loadParser } from '../../../lambdas/core/migrations/sql';
import { BackfillDefinitionError } from '../../../lambdas/core/errors';

const minimal = { table: 'users', key: 'id', set: { status: "'active'" }, where: 'status IS NULL' };

describe('defaults (each documented default, and one override)', () => {
  it.each([
    { field: 'name', fallback: 'm1', override: 'custom' },
    { field: 'targetBatchMs', fallback: 200, override: 50 },
    { field: 'initialBatchSize', fallback: 1000, override: 10 },
    { field: 'minBatchSize', fallback: 1, override: 5 },
    { field: 'maxBatchSize', fallback: 2_000_000, override: 5000 },
    { field: 'statementTimeoutMs', fallback: 240, override: 300 },
    { field: 'lockTimeoutMs', fallback: 120, override: 100 },
    { field: 'parallel', fallback: 1, override: 4 },
    { field: 'sampleTimeoutMs', fallback: 10_000, override: 500 },
    { field: 'dutyCycle', fallback: 1, override: 0.5 },
    { field: 'leaseSeconds', fallback: 60, override: 5 },
    { field: 'strategy', fallback: 'auto', override: 'keyset' },
  ])('$field: $fallback by default, $override when set', ({ field, fallback, override }) => {
    expect(definitionFromJson(minimal, 'm1')[field as 'name']).toBe(fallback);
    expect(definitionFromJson({ ...minimal, [field]: override }, 'm1')[field as 'name']).toBe(override);
  });

  it('the statement timeout caps a batch at 1.2x its target (at least 100 ms); the lock timeout stays below it', () => {
    expect(definitionFromJson({ ...minimal, targetBatchMs: 1000 }, 'm1')).toMatchObject({ statementTimeoutMs: 1200, lockTimeoutMs: 500 });
    expect(definitionFromJson({ ...minimal, targetBatchMs: 20 }, 'm1')).toMatchObject({ statementTimeoutMs: 100, lockTimeoutMs: 50 });
    expect(definitionFromJson({ ...minimal, statementTimeoutMs: 3000 }, 'm1').lockTimeoutMs).toBe(500);
  });

  it.each([
    { field: 'maxReplicationLagSeconds', fallback: 30, override: 5 },
    { field: 'maxWalBytesPerSecond', fallback: undefined, override: 1e6 },
    { field: 'maxTransactionAgeSeconds', fallback: 300, override: 60 },
    { field: 'maxLockTimeouts', fallback: 5, override: 2 },
    { field: 'autovacuum', fallback: 'wraparound', override: 'always' },
    { field: 'holdSeconds', fallback: 30, override: 120 },
    { field: 'checkIntervalMs', fallback: 1000, override: 250 },
  ])('health.$field: $fallback by default, $override when set', ({ field, fallback, override }) => {
    expect(definitionFromJson(minimal, 'm1').health[field as 'holdSeconds']).toBe(fallback);
    expect(definitionFromJson({ ...minimal, health: { [field]: override } }, 'm1').health[field as 'holdSeconds']).toBe(override);
  });

  it('a single key becomes a one-column list; composite keys keep their order', () => {
    expect(definitionFromJson(minimal, 'm1').key).toEqual(['id']);
    expect(definitionFromJson({ ...minimal, key: ['tenant', 'id'] }, 'm1').key).toEqual(['tenant', 'id']);
  });
});

describe('schema errors name the field', () => {
  it.each([
    { problem: 'min above max', json: { ...minimal, minBatchSize: 10, maxBatchSize: 5 }, message: '`minBatchSize` must not exceed maxBatchSize (5)' },
    { problem: 'initial outside the bounds', json: { ...minimal, initialBatchSize: 10, minBatchSize: 20 }, message: '`initialBatchSize` must be between' },
    { problem: 'a key named twice', json: { ...minimal, key: ['id', 'id'] }, message: '`key` names a column twice' },
    { problem: 'unknown strategy', json: { ...minimal, strategy: 'fast' }, message: '`strategy`' },
    { problem: 'a fractional timeout', json: { ...minimal, lockTimeoutMs: 1.5 }, message: '`lockTimeoutMs`' },
    { problem: 'a lock timeout not below the statement timeout', json: { ...minimal, lockTimeoutMs: 240 }, message: '`lockTimeoutMs` must be below statementTimeoutMs (240)' },
    { problem: 'parallel out of range', json: { ...minimal, parallel: 17 }, message: '`parallel`' },
  ])('$problem', ({ json, message }) => {
    expect(() => definitionFromJson(json, 'm1')).toThrow(BackfillDefinitionError);
    expect(() => definitionFromJson(json, 'm1')).toThrow(message);
  });

  it.each([
    { case: 'a trailing comment', json: { ...minimal, where: "status = 'a' -- comment" } },
    { case: 'a subquery', json: { ...minimal, where: 'status IS NULL AND id IN (SELECT id FROM other)' } },
    { case: 'a CASE expression', json: { ...minimal, set: { status: "CASE WHEN id % 2 = 0 THEN 'a' ELSE 'b' END" } } },
  ])('accepts a SQL fragment with $case', async ({ json }) => {
    await expect(parseBackfillDefinition(JSON.stringify(json), 'm1')).resolves.toMatchObject({ name: 'm1' });
  });

  it.each([
    { case: 'ORDER BY after where', json: { ...minimal, where: 'true ORDER BY 1' }, field: '`where`' },
    { case: 'LIMIT after where', json: { ...minimal, where: 'true LIMIT 1' }, field: '`where`' },
    { case: 'a second assignment smuggled into set', json: { ...minimal, set: { status: "'a'), other = ('b'" } }, field: '`set.status`' },
  ])('rejects a SQL fragment with $case', async ({ json, field }) => {
    await expect(parseBackfillDefinition(JSON.stringify(json), 'm1')).rejects.toThrow(field);
  });
});

describe('whereRequiresNull (when the replay guard is implied by where)', () => {
  beforeAll(() => loadParser());
  it.each([
    { where: 'email_lower IS NULL', found: ['email_lower'] },
    { where: 'email_lower IS NULL AND id > 5', found: ['email_lower'] },
    { where: '(a > 1 AND (email_lower IS NULL AND b < 2))', found: ['email_lower'] },
    { where: 'users.email_lower IS NULL', found: ['email_lower'] },
    { where: 'public.users.email_lower IS NULL', found: ['email_lower'] },
    { where: 'other.email_lower IS NULL', found: [] },
    { where: 'email_lower IS NULL OR id > 5', found: [] },
    { where: 'NOT (email_lower IS NOT NULL)', found: [] },
    { where: 'email_lower IS NOT NULL', found: [] },
    { where: 'status IS NULL', found: [] },
    { where: '"Email_Lower" IS NULL', found: [] },
    { where: 'email_lower IS DISTINCT FROM lower(email)', found: [] },
  ])('$where -> $found', ({ where, found }) => {
    expect(whereRequiresNull(where, ['email_lower'], 'users')).toEqual(found);
  });
});
