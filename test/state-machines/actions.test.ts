/**
 * The console actions of migration.asl.json (status, resolve, blockers, restore, backfill
 * control) and input validation, executed offline with the real handlers.
 */
import { Client } from 'pg';
import { expectSucceeded, INIT, migrationRows, scenario, type Scenario } from './harness';

let s: Scenario | undefined;
afterEach(async () => {
  await s?.dispose();
  s = undefined;
});

const BROKEN = { '20240102000000_broken': { sql: 'ALTER TABLE "no_such_table" ADD COLUMN "x" INTEGER;\n' } };

describe('input validation', () => {
  it.each([
    ['no action', {}],
    ['unknown action', { action: 'migrate' }],
    ['wrong type', { action: 'deploy', lockTimeoutMs: 'fast' }],
    ['out of range', { action: 'deploy', monitorMinutes: 999 }],
    ['missing action block', { action: 'resolve' }],
    ['restore target outside the prefix', { action: 'restore', restore: { to: 'latest', targetIdentifier: 'app-test' } }],
    ['not an object', 'deploy'],
  ])('%s: rejected before any task runs, database untouched', async (_case, input) => {
    s = await scenario(INIT);
    const result = await s.executor.run(input, 'invalid');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InputValidationError');
    expect(result.invocations).toEqual([]);
    expect(s.executor.rds.calls).toEqual([]);
    expect(await s.query("SELECT to_regclass('_prisma_migrations') AS t")).toEqual([{ t: null }]);
  });

  it('unknown fields: rejected by the shared schema in preflight before it connects, naming the field', async () => {
    s = await scenario(INIT);
    const result = await s.executor.run({ action: 'deploy', aprove: ['20240101000000_init'] }, 'typo');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InputValidationError');
    expect(result.cause).toContain('aprove');
    expect(result.invocations.map((i) => i.handler)).toEqual(['preflight']);
    expect(await s.query("SELECT to_regclass('_prisma_migrations') AS t")).toEqual([{ t: null }]);
  });
});

describe('status', () => {
  it('reports pending and applied migrations without changing anything', async () => {
    s = await scenario(INIT);
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    s.folder.add({ '20240102000000_add_status': { sql: 'ALTER TABLE "users" ADD COLUMN "status" TEXT;\n' } });
    const result = await s.executor.run({ action: 'status' }, 'status');

    expectSucceeded(result);
    expect(result.output).toMatchObject({ outcome: 'succeeded', action: 'status', status: { pending: ['20240102000000_add_status'], failed: [], nothingPending: false } });
    expect(result.invocations.map((i) => i.handler)).toEqual(['preflight']);
    expect((await migrationRows(s)).map((r) => r.migration_name)).toEqual(['20240101000000_init']);
  });
});

describe('deploy dry run and rollback action', () => {
  it('dryRun: returns the plan with verdicts and applies nothing', async () => {
    s = await scenario(INIT);
    const result = await s.executor.run({ action: 'deploy', dryRun: true }, 'plan');

    expectSucceeded(result);
    expect(result.output).toMatchObject({ outcome: 'succeeded', action: 'deploy', dryRun: true, plan: { pending: ['20240101000000_init'], verdicts: [expect.objectContaining({ name: '20240101000000_init' })] } });
    expect(result.invocations.map((i) => i.handler)).toEqual(['preflight']);
    expect(await s.query("SELECT to_regclass('users') AS t")).toEqual([{ t: null }]);
  });

  it('rollback: runs the named migration\'s rollback.sql and notifies', async () => {
    s = await scenario({
      ...INIT,
      '20240102000000_add_status': { sql: 'ALTER TABLE "users" ADD COLUMN "status" TEXT;\n', rollback: 'ALTER TABLE "users" DROP COLUMN IF EXISTS "status";\n' },
    });
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'deploy'));
    const result = await s.executor.run({ action: 'rollback', rollback: { migration: '20240102000000_add_status' } }, 'rollback');

    expectSucceeded(result);
    expect(result.output).toMatchObject({ outcome: 'succeeded', action: 'rollback', result: { command: 'rollback', migration: '20240102000000_add_status' } });
    expect(await s.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'status'")).toEqual([]);
    expect(s.executor.notifications.at(-1)?.subject).toBe('migration-runner: rollback applied');
  });
});

describe('resolve', () => {
  it('marks a failed migration rolled back, after which deploy proceeds', async () => {
    s = await scenario(INIT);
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    s.folder.add(BROKEN);
    expect((await s.executor.run({ action: 'deploy' }, 'fails')).error).toBe('MigrationFailedError');
    const result = await s.executor.run({ action: 'resolve', resolve: { migration: '20240102000000_broken', as: 'rolled-back' } }, 'resolve');

    expectSucceeded(result);
    expect(result.output).toMatchObject({ outcome: 'succeeded', action: 'resolve', result: { command: 'resolve', migration: '20240102000000_broken', as: 'rolled-back' } });
    const rows = await migrationRows(s);
    expect(rows.map((r) => [r.migration_name, r.rolled_back_at !== null])).toEqual([
      ['20240101000000_init', false],
      ['20240102000000_broken', true],
    ]);
  });

  it('refuses with Prisma\'s semantics (P3011: never applied) and fails the execution', async () => {
    s = await scenario(INIT);
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    s.folder.add(BROKEN);
    const result = await s.executor.run({ action: 'resolve', resolve: { migration: '20240102000000_broken', as: 'rolled-back' } }, 'resolve-never');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('MigrationNeverAppliedError');
    expect(await migrationRows(s)).toHaveLength(1);
  });
});

/**
 * One session holds ACCESS EXCLUSIVE on users in an open transaction; a second one queues behind it.
 * `waiting` settles when the waiter's SELECT completes (or with its error).
 */
async function holdUsersLock(scenario: Scenario) {
  const blocker = new Client({ connectionString: scenario.db.url });
  const waiter = new Client({ connectionString: scenario.db.url });
  // a test may terminate the blocker: its client reports that as an 'error' event
  blocker.on('error', () => undefined);
  await blocker.connect();
  await waiter.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
  const blockerPid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const waiterPid = (await waiter.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const waiting = waiter.query('SELECT count(*) FROM users').catch((error: Error) => error);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const close = async () => {
    await blocker.end().catch(() => undefined);
    await waiter.end().catch(() => undefined);
  };
  return { blocker, blockerPid, waiterPid, waiting, close };
}

describe('blockers', () => {
  it('lists the blocking session and terminates only the PID named in the input', async () => {
    s = await scenario(INIT);
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    const { blockerPid, waiterPid, waiting, close } = await holdUsersLock(s);
    try {

      const list = await s.executor.run({ action: 'blockers' }, 'list');
      expectSucceeded(list);
      // no full preflight (it would queue behind the very lock being investigated): only its
      // validate mode, which opens no connection, then the apply handler's blockers call
      expect(list.invocations.map((i) => i.handler)).toEqual(['preflight', 'apply']);
      expect(list.invocations[0].event).toMatchObject({ mode: 'validate' });
      const sessions = (list.output as { result: { sessions: { pid: number; blocking: boolean }[]; terminated: number[] } }).result;
      expect(sessions.sessions).toEqual(expect.arrayContaining([expect.objectContaining({ pid: blockerPid, blocking: true })]));
      expect(sessions.terminated).toEqual([]);

      const result = await s.executor.run({ action: 'blockers', blockers: { terminate: [blockerPid, waiterPid] } }, 'terminate');
      expectSucceeded(result);
      expect(result.output).toMatchObject({ outcome: 'succeeded', action: 'blockers', result: { terminated: [blockerPid] } });
      expect((result.output as { result: { skipped: { pid: number }[] } }).result.skipped.map((x) => x.pid)).toEqual([waiterPid]);
      expect(await waiting).not.toBeInstanceOf(Error);
      expect(await s.query('SELECT pid FROM pg_stat_activity WHERE pid = $1', [blockerPid])).toEqual([]);
    } finally {
      await close();
    }
  });

  it('an unknown field in blockers is refused before any database work: the lock holder and its waiter are untouched', async () => {
    s = await scenario(INIT);
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    const { blocker, blockerPid, waiting, close } = await holdUsersLock(s);
    try {

      // a typo of "terminate": run as a plain list it would silently terminate nothing
      const result = await s.executor.run({ action: 'blockers', blockers: { termiante: [blockerPid] } }, 'typo');

      expect(result.status).toBe('FAILED');
      expect(result.error).toBe('InputValidationError');
      expect(result.cause).toContain('termiante');
      expect(result.states).toContain('ValidateOneCallInput');
      expect(result.states).not.toContain('ListBlockers');
      expect(result.invocations).toEqual([{ handler: 'preflight', event: expect.objectContaining({ mode: 'validate' }) }]);
      expect(s.executor.rds.calls).toEqual([]);
      // the lock is still held by the same transaction and the waiter still waits
      expect(await s.query("SELECT state FROM pg_stat_activity WHERE pid = $1", [blockerPid])).toEqual([{ state: 'idle in transaction' }]);
      expect(await s.query("SELECT count(*)::int AS n FROM pg_locks WHERE pid = $1 AND relation = 'users'::regclass AND mode = 'AccessExclusiveLock' AND granted", [blockerPid])).toEqual([{ n: 1 }]);
      // no runner session left behind (application_name names the runner and the execution)
      expect(await s.query("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE '%typo%'")).toEqual([]);
      await blocker.query('COMMIT');
      expect(await waiting).not.toBeInstanceOf(Error);
    } finally {
      await close();
    }
  });
});

describe('restore', () => {
  it('latest: restores into a NEW instance, waits until available, reports the endpoint; the source is untouched', async () => {
    s = await scenario(INIT, { rds: { pollsUntilAvailable: 3 } });
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    await s.query("INSERT INTO users (email) VALUES ('kept@example.com')");
    const result = await s.executor.run({ action: 'restore', restore: { to: 'latest', targetIdentifier: 'app-test-pitr-copy1' } }, 'restore');

    expectSucceeded(result);
    expect(result.output).toMatchObject({ outcome: 'succeeded', action: 'restore', restore: { targetIdentifier: 'app-test-pitr-copy1', sourceIdentifier: 'app-test', mode: 'latest', endpoint: expect.any(String) } });
    // the only Lambda call is the connection-free input check: restore must work during an outage
    expect(result.invocations).toEqual([{ handler: 'preflight', event: expect.objectContaining({ mode: 'validate' }) }]);
    expect(result.states.filter((name) => name === 'DescribeRestoredInstance')).toHaveLength(3);
    const restored = s.executor.rds.instances.get('app-test-pitr-copy1')!.database;
    expect(await s.query('SELECT email FROM users', [], restored)).toEqual([{ email: 'kept@example.com' }]);
    expect(s.executor.notifications.at(-1)?.subject).toBe('migration-runner: restore available');
    // the source is still there and writable
    await s.query("INSERT INTO users (email) VALUES ('after@example.com')");
    expect(await s.query('SELECT count(*)::int AS n FROM users', [], restored)).toEqual([{ n: 1 }]);
  });

  it('an invalid restore time is refused by the schema before any RDS call', async () => {
    s = await scenario(INIT);
    const result = await s.executor.run({ action: 'restore', restore: { to: 'yesterday', targetIdentifier: 'app-test-pitr-copy1' } }, 'restore-typo');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InputValidationError');
    expect(result.cause).toContain('restore.to');
    expect(result.invocations.map((i) => i.handler)).toEqual(['preflight']);
    expect(s.executor.rds.calls).toEqual([]);
    expect(s.executor.rds.instances.has('app-test-pitr-copy1')).toBe(false);
  });

  it('to a given time on Aurora: restores the cluster, then creates its instance', async () => {
    s = await scenario(INIT, { kind: 'cluster' });
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    const at = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const result = await s.executor.run({ action: 'restore', restore: { to: at } }, 'restore-aurora');

    expectSucceeded(result);
    expect(result.states).toEqual(expect.arrayContaining(['DescribeSourceCluster', 'RestoreClusterToTime', 'DescribeRestoredCluster', 'CreateRestoredClusterInstance', 'DescribeRestoredInstance']));
    const target = (result.output as { restore: { targetIdentifier: string; instanceIdentifier: string } }).restore;
    expect(target.targetIdentifier).toMatch(/^app-test-pitr-[0-9a-f]{32}$/);
    expect(target.instanceIdentifier).toBe(`${target.targetIdentifier}-1`);
    expect(await s.query("SELECT to_regclass('users') IS NOT NULL AS ok", [], s.executor.rds.clusters.get(target.targetIdentifier)!.database)).toEqual([{ ok: true }]);
  });

  it('a failed restore is reported and fails the execution', async () => {
    s = await scenario(INIT, { rds: { failRestoresWith: 'incompatible-restore' } });
    const result = await s.executor.run({ action: 'restore', restore: { to: 'latest' } }, 'restore-fails');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.TaskFailed');
    expect(result.cause).toContain('incompatible-restore');
    expect(s.executor.notifications.at(-1)?.subject).toBe('migration-runner: restore FAILED');
  });
});
