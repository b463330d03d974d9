import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { Client } from 'pg';
import type { PreflightResult } from '../../../lambdas/core/contracts';
import { freshDatabase, type TestDatabase } from '../../helpers/database';
import { mockRdsCluster, mockRdsInstance, throttling } from './support/aws-mocks';
import { lambdaContext, loadHandler, localEnv, thrown, writeMigrations, type Handler } from './support/lambda';

const INIT = { '20240101000000_init': { 'migration.sql': 'CREATE TABLE "big" ("id" BIGINT PRIMARY KEY, "v" INTEGER NOT NULL);\n' } };
const INDEX_BIG = { '20240102000000_index_big': { 'migration.sql': 'CREATE INDEX "big_v_idx" ON "big" ("v");\n' } };
const DROP_V = { '20240104000000_drop_v': { 'migration.sql': 'ALTER TABLE "big" DROP COLUMN "v";\n' } };
const INDEX_FRESH = {
  '20240103000000_fresh': { 'migration.sql': 'CREATE TABLE "fresh" ("id" INTEGER PRIMARY KEY, "v" INTEGER);\nCREATE INDEX "fresh_v_idx" ON "fresh" ("v");\n' },
};

let db: TestDatabase;
let preflight: Handler;

async function plan(input: Record<string, unknown>, executionName = 'deploy-2026-01-01'): Promise<PreflightResult> {
  return (await preflight({ input, executionName }, lambdaContext('preflight'))) as PreflightResult;
}

beforeAll(async () => {
  // Prepare: a database whose "big" table (created by an applied migration) holds 200k rows.
  db = await freshDatabase('preflight');
  localEnv(db.url, writeMigrations(INIT));
  preflight = await loadHandler('preflight');
  const apply = await loadHandler('apply');
  await apply({ command: 'deploy' }, lambdaContext('apply'));
  const client = await db.client();
  await client.query('INSERT INTO "big" SELECT g, g % 100 FROM generate_series(1, 200000) g');
  await client.query('ANALYZE "big"');
});

afterAll(async () => {
  await db.drop();
});

afterEach(() => {
  mockClient(RDSClient).restore();
  mockClient(CloudWatchClient).restore();
});

describe('preflight handler', () => {
  it('classifies a plain CREATE INDEX on the 200k-row table as dangerous, named with its size, and the same on a new table as safe', async () => {
    // Prepare
    localEnv(db.url, writeMigrations({ ...INIT, ...INDEX_BIG, ...INDEX_FRESH }));
    mockRdsInstance();
    // Act
    const result = await plan({ action: 'deploy', dryRun: true });
    // Assess
    expect(result.pending).toEqual(['20240102000000_index_big', '20240103000000_fresh']);
    const [big, fresh] = result.verdicts;
    expect(big.verdict).toBe('dangerous');
    expect(big.findings.map((f) => f.rule)).toContain('create-index-not-concurrently');
    expect(big.findings.find((f) => f.rule === 'create-index-not-concurrently')!.message).toMatch(/200[,.\s]?000|200k/i);
    expect(fresh.verdict).toBe('safe');
    expect(fresh.findings.map((f) => f.rule)).not.toContain('create-index-not-concurrently');
    expect(result).toMatchObject({ needsApproval: true, approvedMissing: ['20240102000000_index_big'], needsSnapshot: true, nothingPending: false });
    expect(result.refusals.map((r) => r.error)).toEqual(['DangerousMigrationNotApprovedError']);
    // Without SNAPSHOT_PREFIX the prefix is the construct's default, <identifier>-mr (settings table).
    expect(result.snapshot).toEqual({ kind: 'instance', sourceIdentifier: 'app-production', identifier: expect.stringMatching(/^app-production-mr-deploy-2026-01-01-[0-9a-f]{8}$/) });
    expect(result.health).toMatchObject({ ok: true, connections: { max: 200 } });
    expect(result.backup).toMatchObject({ ok: true, kind: 'instance', pitrEnabled: true, newestSnapshot: { identifier: 'rds:app-production-new' } });
    expect(result.longOperations).toEqual([
      { migration: '20240102000000_index_big', line: 1, table: 'big', tableBytes: expect.any(Number), estimatedSeconds: 0, exceedsLambda: false },
    ]);
    expect(result.longOperations[0].tableBytes).toBeGreaterThan(5 * 1024 ** 2);
    expect(JSON.stringify(result).length).toBeLessThan(256 * 1024);
  });

  it('refuses a deploy whose dangerous migration is not approved, naming it, and lets it through once approved', async () => {
    // Prepare
    localEnv(db.url, writeMigrations({ ...INIT, ...INDEX_BIG }));
    mockRdsInstance();
    // Act
    const refused = await thrown(() => plan({ action: 'deploy' }));
    const approved = await plan({ action: 'deploy', approve: ['20240102000000_index_big'] });
    // Assess
    expect(refused.name).toBe('DangerousMigrationNotApprovedError');
    expect(refused.message).toContain('20240102000000_index_big');
    expect(refused.message).toContain('create-index-not-concurrently');
    expect(approved).toMatchObject({ approvedMissing: [], refusals: [], verdicts: [{ name: '20240102000000_index_big', approved: true }] });
  });

  it('APPROVAL_POLICY=careful: a careful migration also needs approval, refused with the same error; the default lets it through', async () => {
    // Prepare: DROP COLUMN is careful (no rewrite, but readers of the column break)
    localEnv(db.url, writeMigrations({ ...INIT, ...DROP_V }));
    mockRdsInstance();
    try {
      // Act
      const byDefault = await plan({ action: 'deploy' });
      process.env.APPROVAL_POLICY = 'careful';
      const refused = await thrown(() => plan({ action: 'deploy' }));
      const dryRun = await plan({ action: 'deploy', dryRun: true });
      const approved = await plan({ action: 'deploy', approve: ['20240104000000_drop_v'] });
      // Assess
      expect(byDefault.verdicts.map((v) => [v.name, v.verdict])).toEqual([['20240104000000_drop_v', 'careful']]);
      expect(byDefault).toMatchObject({ needsApproval: false, approvedMissing: [], refusals: [] });
      expect(refused.name).toBe('DangerousMigrationNotApprovedError');
      expect(refused.message).toMatch(/^dangerous and careful migrations need approval \(add them to "approve"\): 20240104000000_drop_v: line 1 drop-column: /);
      expect(dryRun).toMatchObject({ needsApproval: true, approvedMissing: ['20240104000000_drop_v'] });
      expect(dryRun.refusals.map((r) => r.error)).toEqual(['DangerousMigrationNotApprovedError']);
      expect(approved).toMatchObject({ needsApproval: true, approvedMissing: [], refusals: [] });
    } finally {
      delete process.env.APPROVAL_POLICY;
    }
  });

  it('lists a blocked session and the session blocking it, with durations', async () => {
    // Prepare: A holds an ACCESS EXCLUSIVE lock in an open transaction; B waits for it.
    localEnv(db.url, writeMigrations(INIT));
    mockRdsInstance();
    const holder: Client = await db.client();
    const waiter: Client = await db.client();
    await holder.query(`SET application_name = 'holder'`);
    await waiter.query(`SET application_name = 'waiter'`);
    const holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const waiterPid = (await waiter.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    await holder.query('BEGIN; LOCK TABLE "big" IN ACCESS EXCLUSIVE MODE');
    const waiting = waiter.query('SELECT count(*) FROM "big"');
    await new Promise((r) => setTimeout(r, 300));
    try {
      // Act
      const result = await plan({ action: 'status' });
      // Assess
      const blocker = result.blockers.find((s) => s.pid === holderPid);
      const blocked = result.blockers.find((s) => s.pid === waiterPid);
      expect(blocker).toMatchObject({ blocking: true, applicationName: 'holder', state: 'idle in transaction', blockedBy: [] });
      expect(blocker!.transactionSeconds).toBeGreaterThanOrEqual(0.2);
      expect(blocked).toMatchObject({ blocking: false, applicationName: 'waiter', waitEventType: 'Lock', blockedBy: [holderPid], query: 'SELECT count(*) FROM "big"' });
      expect(blocked!.stateSeconds).toBeGreaterThanOrEqual(0.2);
      expect(result.health.blockedSessions).toBeGreaterThanOrEqual(1);
    } finally {
      await holder.query('ROLLBACK');
      await waiting;
    }
  });

  it.each([
    ['an old LatestRestorableTime', { restorableMinutesAgo: 90 }, /LatestRestorableTime of instance app-production is .*, 90(\.\d)? minutes ago \(limit 15\)/],
    ['point-in-time restore disabled', { retentionDays: 0 }, /point-in-time restore is disabled on instance app-production \(BackupRetentionPeriod 0\)/],
    ['no automated snapshot', { snapshotHoursAgo: null }, /no available automated snapshot of instance app-production/],
    ['a stale automated snapshot', { snapshotHoursAgo: 80 }, /newest automated snapshot rds:app-production-new is 80(\.\d)? hours old \(limit 48\)/],
  ])('refuses a deploy with %s, saying why', async (_case, shape, reason) => {
    // Prepare
    localEnv(db.url, writeMigrations({ ...INIT, ...INDEX_FRESH }));
    mockRdsInstance(shape);
    // Act
    const error = await thrown(() => plan({ action: 'deploy' }));
    // Assess
    expect(error.name).toBe('NoRestorableBackupError');
    expect(error.message).toMatch(reason);
  });

  it('retries RDS throttling and then succeeds', async () => {
    // Prepare
    localEnv(db.url, writeMigrations({ ...INIT, ...INDEX_FRESH }));
    const { rds, instances } = mockRdsInstance();
    rds.on(DescribeDBInstancesCommand).rejectsOnce(throttling()).rejectsOnce(throttling()).resolves(instances);
    // Act
    const result = await plan({ action: 'deploy' });
    // Assess
    expect(result.backup.ok).toBe(true);
    expect(rds.commandCalls(DescribeDBInstancesCommand)).toHaveLength(3); // 2 throttled + 1
  });

  it('fails with the throttling error when RDS keeps throttling', async () => {
    // Prepare
    localEnv(db.url, writeMigrations({ ...INIT, ...INDEX_FRESH }));
    const { rds } = mockRdsInstance();
    rds.on(DescribeDBInstancesCommand).rejects(throttling());
    // Act
    const error = await thrown(() => plan({ action: 'deploy' }));
    // Assess
    expect(error.name).toBe('Throttling');
    expect(rds.commandCalls(DescribeDBInstancesCommand)).toHaveLength(4);
  });

  it('checks an Aurora cluster through the cluster API and plans a cluster snapshot', async () => {
    // Prepare
    localEnv(db.url, writeMigrations({ ...INIT, ...INDEX_BIG }), { DB_INSTANCE_IDENTIFIER: '', DB_CLUSTER_IDENTIFIER: 'app-aurora' });
    const { rds } = mockRdsCluster();
    // Act
    const result = await plan({ action: 'deploy', approve: ['20240102000000_index_big'] });
    // Assess
    expect(result.backup).toMatchObject({ ok: true, kind: 'cluster', identifier: 'app-aurora', pitrEnabled: true });
    expect(result.snapshot).toMatchObject({ kind: 'cluster', sourceIdentifier: 'app-aurora' });
    expect(rds.commandCalls(DescribeDBClustersCommand)[0].args[0].input).toEqual({ DBClusterIdentifier: 'app-aurora' });
    // Aurora storage grows by itself: no FreeStorageSpace is read.
    expect(result.health.freeStorageBytes).toBeNull();
  });

  it('refuses when free storage cannot hold the rewrite a pending migration does', async () => {
    // Prepare: a type change that rewrites "big" (with its indexes), approved, and 1 MiB free.
    const rewrite = { '20240104000000_widen': { 'migration.sql': 'ALTER TABLE "big" ALTER COLUMN "v" TYPE BIGINT;\n' } };
    localEnv(db.url, writeMigrations({ ...INIT, ...rewrite }));
    mockRdsInstance({ freeStorageBytes: 1024 ** 2 });
    // Act
    const error = await thrown(() => plan({ action: 'deploy', approve: ['20240104000000_widen'] }));
    // Assess
    expect(error.name).toBe('DatabaseUnhealthyError');
    expect(error.message).toMatch(/free storage 1 MiB is less than 1\.5x the \d+ MiB the pending DDL may write/);
  });

  it('rejects a malformed input naming the field, before opening any connection', async () => {
    // Prepare: a database URL nothing listens on; a connection attempt would fail differently.
    localEnv('postgresql://nobody:secret@127.0.0.1:1/none', writeMigrations(INIT));
    // Act
    const error = await thrown(() => plan({ action: 'deploy', aprove: ['x'], lockTimeoutMs: 'soon' }));
    // Assess
    expect(error.name).toBe('InputValidationError');
    expect(error.message).toContain('unknown field "aprove"');
    expect(error.message).toContain('lockTimeoutMs');
  });

  it('validate mode: checks a one-call input with the full schema, opening no connection and calling no AWS API', async () => {
    // Prepare: nothing listens on the database URL, the secret and RDS are recorded by SDK mocks,
    // and the migrations folder does not exist: any of them touched would show or fail.
    localEnv('postgresql://nobody:secret@127.0.0.1:1/none', '/nonexistent/migrations', {
      DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf',
    });
    const secrets = mockClient(SecretsManagerClient);
    const rds = mockClient(RDSClient);
    const validate = (input: Record<string, unknown>) => preflight({ mode: 'validate', input, executionName: 'blockers-1' }, lambdaContext('preflight'));
    try {
      // Act
      const valid = await validate({ action: 'blockers', blockers: { terminate: [123] } });
      const typo = await thrown(() => validate({ action: 'blockers', blockers: { termiante: [123] } }));
      const badTime = await thrown(() => validate({ action: 'restore', restore: { to: 'yesterday' } }));
      // Assess
      expect(valid).toEqual({ valid: true, action: 'blockers' });
      expect(typo.name).toBe('InputValidationError');
      expect(typo.message).toContain('termiante');
      expect(badTime.name).toBe('InputValidationError');
      expect(badTime.message).toContain('restore.to');
      expect(secrets.calls()).toEqual([]);
      expect(rds.calls()).toEqual([]);
    } finally {
      secrets.restore();
    }
  });

  it('reports nothing pending without refusing', async () => {
    // Prepare
    localEnv(db.url, writeMigrations(INIT));
    mockRdsInstance();
    // Act
    const result = await plan({ action: 'deploy' });
    // Assess
    expect(result).toMatchObject({ nothingPending: true, pending: [], needsSnapshot: false, snapshot: null, refusals: [], verdict: 'safe' });
  });
});

describe('preflight handler under a lock on the migrations table', () => {
  it('refuses by name instead of hanging when even reading waits for a lock', async () => {
    // Prepare: a session holds ACCESS EXCLUSIVE on _prisma_migrations (as a stuck manual fix would).
    localEnv(db.url, writeMigrations(INIT));
    mockRdsInstance();
    const holder = await db.client();
    await holder.query('BEGIN; LOCK TABLE "_prisma_migrations" IN ACCESS EXCLUSIVE MODE');
    try {
      // Act
      const started = Date.now();
      const error = await thrown(() => plan({ action: 'status' }));
      // Assess
      expect(error.name).toBe('DatabaseUnhealthyError');
      expect(error.message).toContain('could not read the database within 5000 ms (a session holds a conflicting lock');
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await holder.query('ROLLBACK');
    }
  });
});

describe('preflight handler: database health', () => {
  it('refuses while a transaction has been open longer than the limit, naming its PID', async () => {
    // Prepare: a transaction open for over a second, with a 1-second limit.
    localEnv(db.url, writeMigrations({ ...INIT, ...INDEX_FRESH }), { LONG_TRANSACTION_SECONDS: '1' });
    mockRdsInstance();
    const idle = await db.client();
    await idle.query(`SET application_name = 'forgotten-psql'`);
    const pid = (await idle.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    await idle.query('BEGIN; SELECT 1');
    await new Promise((r) => setTimeout(r, 1_300));
    try {
      // Act
      const error = await thrown(() => plan({ action: 'deploy' }));
      const report = await plan({ action: 'deploy', dryRun: true });
      // Assess
      expect(error.name).toBe('DatabaseUnhealthyError');
      expect(error.message).toMatch(new RegExp(`transaction\\(s\\) open longer than 1s; oldest PID ${pid} \\(forgotten-psql, idle in transaction\\) open [0-9.]+s: DDL would queue behind it`));
      expect(report.health.longTransactions.map((s) => s.pid)).toContain(pid);
    } finally {
      await idle.query('ROLLBACK');
    }
  });

  it('refuses when connections exceed the share of max_connections allowed', async () => {
    // Prepare: 1 % of 200 connections allowed; this very preflight session already makes it 0.5 %.
    localEnv(db.url, writeMigrations({ ...INIT, ...INDEX_FRESH }), { MAX_CONNECTIONS_PERCENT: '1' });
    mockRdsInstance();
    const extra = await Promise.all([db.client(), db.client(), db.client()]);
    // Act
    const error = await thrown(() => plan({ action: 'deploy' }));
    // Assess
    expect(error.name).toBe('DatabaseUnhealthyError');
    expect(error.message).toMatch(/\d+ of max_connections 200 connections in use \(\d+% > 1%\)/);
    await Promise.all(extra.map((c) => c.end()));
  });
});
