import { loadLinter } from '../../../lambdas/core/lint/lint';
import { checkBackup, type BackupPolicy } from '../../../lambdas/core/preflight/backup';
import { longOperations } from '../../../lambdas/core/preflight/duration';
import type { RdsBackupApi } from '../../../lambdas/core/preflight/ports';
import { snapshotIdentifier } from '../../../lambdas/core/preflight/snapshot-id';
import { checkAlarms } from '../../../lambdas/core/verify';
import { handlerConfig } from '../../../lambdas/handlers/shared/config';

const NOW = new Date('2026-11-24T04:00:00Z');
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
const POLICY: BackupPolicy = { instanceIdentifier: 'db', maxRestorableAgeMinutes: 15, maxSnapshotAgeHours: 48 };

function api(overrides: Partial<RdsBackupApi> = {}): RdsBackupApi {
  return {
    describeInstance: async (id) => ({ identifier: id, status: 'available', backupRetentionPeriod: 7, latestRestorableTime: ago(5), clusterIdentifier: null, allocatedStorageGiB: 20 }),
    describeCluster: async (id) => ({ identifier: id, status: 'available', backupRetentionPeriod: 7, latestRestorableTime: ago(2) }),
    newestAutomatedSnapshot: async (_kind, id) => ({ identifier: `rds:${id}`, createdAt: ago(600), status: 'available' }),
    ...overrides,
  };
}

describe('checkBackup', () => {
  it('accepts a recent restorable time and snapshot', async () => {
    // Act
    const report = await checkBackup(api(), POLICY, NOW);
    // Assess
    expect(report).toEqual({
      ok: true,
      problems: [],
      kind: 'instance',
      identifier: 'db',
      pitrEnabled: true,
      latestRestorableTime: ago(5).toISOString(),
      latestRestorableAgeMinutes: 5,
      newestSnapshot: { identifier: 'rds:db', createdAt: ago(600).toISOString(), ageHours: 10 },
    });
  });

  it.each([
    ['no identifier', {}, api(), /no database identifier configured/],
    ['a missing instance', POLICY, api({ describeInstance: async () => null }), /RDS instance db not found/],
    ['no restorable time yet', POLICY, api({ describeInstance: async (id) => ({ identifier: id, status: 'creating', backupRetentionPeriod: 1, latestRestorableTime: null, clusterIdentifier: null, allocatedStorageGiB: 1 }) }), /reports no LatestRestorableTime yet/],
  ])('fails closed with %s', async (_case, policy, rds, reason) => {
    // Act
    const report = await checkBackup(rds, { maxRestorableAgeMinutes: 15, maxSnapshotAgeHours: 48, ...policy }, NOW);
    // Assess
    expect(report.ok).toBe(false);
    expect(report.problems.join('; ')).toMatch(reason);
  });

  it('follows an Aurora instance to its cluster', async () => {
    // Prepare
    const rds = api({ describeInstance: async (id) => ({ identifier: id, status: 'available', backupRetentionPeriod: 1, latestRestorableTime: null, clusterIdentifier: 'cl', allocatedStorageGiB: 1 }) });
    // Act
    const report = await checkBackup(rds, POLICY, NOW);
    // Assess
    expect(report).toMatchObject({ ok: true, kind: 'cluster', identifier: 'cl', latestRestorableAgeMinutes: 2, newestSnapshot: { identifier: 'rds:cl' } });
  });

  it('reports skipped (and ok) only when told to', async () => {
    // Act + Assess
    expect(await checkBackup(api(), { ...POLICY, skip: true }, NOW)).toMatchObject({ ok: true, kind: 'skipped' });
  });
});

describe('snapshotIdentifier', () => {
  it.each([
    ['mr', 'deploy-2026-01-01', /^mr-deploy-2026-01-01-[0-9a-f]{8}$/],
    ['mr', 'Deploy_2026..01--01_', /^mr-Deploy-2026-01-01-[0-9a-f]{8}$/],
    ['9pre', '7a', /^pre-7a-[0-9a-f]{8}$/],
    ['mr', 'x'.repeat(80), /^mr-x{60}-[0-9a-f]{8}$/],
  ])('derives a valid RDS identifier from prefix %s and execution %s', (prefix, execution, pattern) => {
    // Act
    const id = snapshotIdentifier(prefix, execution, NOW);
    // Assess
    expect(id).toMatch(pattern);
    expect(id).toMatch(/^[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]$/);
  });

  it('is stable for one execution and different for names that sanitize alike', () => {
    // Act + Assess
    expect(snapshotIdentifier('mr', 'a_b', NOW)).toBe(snapshotIdentifier('mr', 'a_b', new Date(0)));
    expect(snapshotIdentifier('mr', 'a_b', NOW)).not.toBe(snapshotIdentifier('mr', 'a.b', NOW));
  });
});

describe('checkAlarms', () => {
  it('is OK without alarms and without calling CloudWatch', async () => {
    // Prepare
    let called = false;
    // Act
    const result = await checkAlarms({ describeAlarms: async () => ((called = true), []) }, []);
    // Assess
    expect(result).toEqual({ mode: 'alarms', state: 'OK', firing: [], missing: [] });
    expect(called).toBe(false);
  });
});

describe('handlerConfig', () => {
  it('applies the documented defaults', () => {
    // Act
    const config = handlerConfig({});
    // Assess
    expect(config).toEqual({
      migrationsDir: 'prisma/migrations',
      instanceIdentifier: undefined,
      clusterIdentifier: undefined,
      backupCheck: 'check',
      backupMaxAgeMinutes: 15,
      snapshotMaxAgeHours: 48,
      snapshotPolicy: 'auto',
      approvalPolicy: 'dangerous',
      snapshotPrefix: 'mr',
      pgVersion: undefined,
      alarmNames: [],
      healthUrl: undefined,
      healthTimeoutMs: 5000,
      lockTimeoutMs: 3000,
      maxLockRetries: 5,
      statementTimeoutMs: 0,
      concurrentStatementTimeoutMs: 0,
      advisoryLockTimeoutMs: 10_000,
      longTransactionSeconds: 300,
      maxReplicationLagSeconds: 60,
      maxConnectionsPercent: 80,
      timeMarginMs: 60_000,
    });
  });

  it('reads overrides', () => {
    // Act
    const config = handlerConfig({ ALARM_NAMES: ' a, b ,', SNAPSHOT_POLICY: 'always', LOCK_TIMEOUT_MS: '500', DB_CLUSTER_IDENTIFIER: 'cl', PG_VERSION: '15' });
    // Assess
    expect(config).toMatchObject({ alarmNames: ['a', 'b'], snapshotPolicy: 'always', lockTimeoutMs: 500, clusterIdentifier: 'cl', pgVersion: 15 });
  });

  it.each([
    [{ LOCK_TIMEOUT_MS: 'soon' }, /LOCK_TIMEOUT_MS must be an integer between 100 and 60000/],
    [{ SNAPSHOT_POLICY: 'sometimes' }, /SNAPSHOT_POLICY must be one of auto, always, never/],
    [{ APPROVAL_POLICY: 'all' }, /APPROVAL_POLICY must be one of dangerous, careful/],
    [{ BACKUP_CHECK: 'skip', DB_SECRET_ARN: 'arn' }, /BACKUP_CHECK=skip is only allowed for local runs/],
    [{ DB_INSTANCE_IDENTIFIER: 'a', DB_CLUSTER_IDENTIFIER: 'b' }, /not both/],
    [{ HEALTH_URL: 'ftp://x' }, /HEALTH_URL must be an http\(s\) URL/],
  ])('rejects %j naming the variable', (env, message) => {
    // Act + Assess
    expect(() => handlerConfig(env)).toThrow(message);
  });
});

describe('longOperations (Lambda time limit)', () => {
  const GiB = 1024 ** 3;
  const migration = (name: string, sql: string) => ({ name, file: `${name}/migration.sql`, sql, checksum: 'x' });

  beforeAll(async () => {
    await loadLinter();
  });

  it('estimates index builds and rewrites from table sizes and flags what outlasts one invocation', () => {
    // Prepare
    const pending = [
      migration('m1', 'CREATE INDEX CONCURRENTLY "events_x_idx" ON "events" ("x");\nCREATE INDEX "tiny_x_idx" ON "tiny" ("x");\n'),
      migration('m2', 'ALTER TABLE "events" ALTER COLUMN "x" TYPE BIGINT;\nALTER TABLE "events" ADD COLUMN "y" TEXT;\n'),
    ];
    const tables = { events: { rowEstimate: 400e6, totalBytes: 30 * GiB }, tiny: { rowEstimate: 40, totalBytes: 16384 } };
    // Act
    const ops = longOperations(pending, tables, new Map([['m2', new Set([1])]]));
    // Assess
    expect(ops).toEqual([
      { migration: 'm1', line: 1, table: 'events', tableBytes: 30 * GiB, estimatedSeconds: 1229, exceedsLambda: true },
      { migration: 'm2', line: 1, table: 'events', tableBytes: 30 * GiB, estimatedSeconds: 614, exceedsLambda: false },
      { migration: 'm1', line: 2, table: 'tiny', tableBytes: 16384, estimatedSeconds: 0, exceedsLambda: false },
    ]);
  });
});
