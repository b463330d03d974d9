import type { Client } from 'pg';
import type { ApplyBlockersResult, ApplyDeployResult, ApplyRollbackResult, BackfillStepResult } from '../../../lambdas/core/contracts';
import { freshDatabase, type TestDatabase } from '../../helpers/database';
import { lambdaContext, loadHandler, localEnv, thrown, writeMigrations, type Handler } from './support/lambda';
import { captureOutput, type CapturedOutput } from './support/output';

const USERS = { '20240101000000_users': { 'migration.sql': 'CREATE TABLE "users" ("id" BIGINT PRIMARY KEY, "status" TEXT);\n' } };
const TIER = {
  '20240102000000_add_tier': {
    'migration.sql': 'ALTER TABLE "users" ADD COLUMN "tier" TEXT;\n',
    'backfill.json': JSON.stringify({ name: 'users_tier', table: 'users', key: 'id', set: { tier: "'basic'" }, where: '"tier" IS NULL' }),
  },
};
const TIER_NOT_NULL = {
  '20240103000000_tier_check': { 'migration.sql': 'ALTER TABLE "users" ADD CONSTRAINT "users_tier_not_null" CHECK ("tier" IS NOT NULL) NOT VALID;\n' },
};

let db: TestDatabase;
let apply: Handler;
let backfill: Handler;
let output: CapturedOutput;

async function rows(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = await db.client();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function session(name: string): Promise<{ client: Client; pid: number }> {
  const client = await db.client();
  await client.query(`SET application_name = '${name}'`);
  return { client, pid: (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number };
}

beforeAll(async () => {
  localEnv('postgresql://unused@127.0.0.1:1/unused', writeMigrations({}), { POWERTOOLS_LOG_LEVEL: 'INFO' });
  apply = await loadHandler('apply');
  backfill = await loadHandler('backfill');
});

beforeEach(async () => {
  db = await freshDatabase('apply');
  output = captureOutput();
});

afterEach(async () => {
  output.restore();
  await db.drop();
});

describe('apply handler: deploy', () => {
  it('stops at a backfill barrier, refuses to pass it until the backfill is done, then applies the rest', async () => {
    // Prepare
    const dir = writeMigrations({ ...USERS, ...TIER, ...TIER_NOT_NULL });
    localEnv(db.url, dir);
    // Act
    const first = (await apply({ command: 'deploy', executionName: 'exec-1' }, lambdaContext('apply'))) as ApplyDeployResult;
    await rows('INSERT INTO "users" SELECT g, NULL FROM generate_series(1, 5000) g');
    const again = (await apply({ command: 'deploy', executionName: 'exec-1' }, lambdaContext('apply'))) as ApplyDeployResult;
    let progress = (await backfill({ name: 'users_tier', command: 'run', executionName: 'exec-1' }, lambdaContext('backfill'))) as BackfillStepResult;
    for (let i = 0; i < 20 && !progress.done; i++) {
      if (progress.waitSeconds > 0) await new Promise((r) => setTimeout(r, progress.waitSeconds * 1000));
      progress = (await backfill({ name: 'users_tier', command: 'run', executionName: 'exec-1' }, lambdaContext('backfill'))) as BackfillStepResult;
    }
    const last = (await apply({ command: 'deploy', executionName: 'exec-1' }, lambdaContext('apply'))) as ApplyDeployResult;
    // Assess
    expect(first).toEqual({
      command: 'deploy',
      status: 'barrier',
      applied: ['20240101000000_users', '20240102000000_add_tier'],
      remaining: ['20240103000000_tier_check'],
      barrier: { migration: '20240102000000_add_tier', backfill: 'users_tier' },
    });
    expect(again).toMatchObject({ status: 'barrier', applied: [], barrier: { backfill: 'users_tier' } });
    expect(progress).toMatchObject({ name: 'users_tier', status: 'done', done: true, rowsDone: 5000, waitSeconds: 0 });
    expect(last).toEqual({ command: 'deploy', status: 'done', applied: ['20240103000000_tier_check'], remaining: [] });
    expect(await rows(`SELECT count(*)::int AS n FROM "users" WHERE "tier" IS DISTINCT FROM 'basic'`)).toEqual([{ n: 0 }]);
  });

  it('stops between migrations when the invocation has too little time left, and reports what remains', async () => {
    // Prepare: the first migration takes 1.2 s; 6 s left with a 5 s margin.
    const slow = { '20240101000000_slow': { 'migration.sql': 'SELECT pg_sleep(1.2);\nCREATE TABLE "a" ("id" INT);\n' } };
    const next = { '20240102000000_b': { 'migration.sql': 'CREATE TABLE "b" ("id" INT);\n' }, '20240103000000_c': { 'migration.sql': 'CREATE TABLE "c" ("id" INT);\n' } };
    localEnv(db.url, writeMigrations({ ...slow, ...next }), { TIME_MARGIN_MS: '5000' });
    // Act
    const result = (await apply({ command: 'deploy' }, lambdaContext('apply', 6_000))) as ApplyDeployResult;
    const resumed = (await apply({ command: 'deploy' }, lambdaContext('apply'))) as ApplyDeployResult;
    // Assess
    expect(result).toEqual({ command: 'deploy', status: 'time', applied: ['20240101000000_slow'], remaining: ['20240102000000_b', '20240103000000_c'] });
    expect(resumed).toEqual({ command: 'deploy', status: 'done', applied: ['20240102000000_b', '20240103000000_c'], remaining: [] });
  });

  it('retries a lock held by another session, naming the blocker, and succeeds once it is released', async () => {
    // Prepare
    const dir = writeMigrations(USERS);
    localEnv(db.url, dir);
    await apply({ command: 'deploy' }, lambdaContext('apply'));
    writeMigrations({ '20240102000000_add_plan': { 'migration.sql': 'ALTER TABLE "users" ADD COLUMN "plan" TEXT;\n' } }, dir);
    const holder = await session('report-job');
    await holder.client.query('BEGIN; SELECT count(*) FROM "users"');
    const release = setTimeout(() => void holder.client.query('COMMIT'), 1_500);
    // While it waits, an operator looking at pg_stat_activity sees who is waiting, for which execution.
    const seen = new Promise<unknown[]>((resolve) =>
      setTimeout(async () => {
        const observer = await db.client();
        resolve((await observer.query(`SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'mr:%' ORDER BY 1`)).rows);
      }, 700),
    );
    // Act
    const result = (await apply({ command: 'deploy', executionName: 'deploy-lock-1', lockTimeoutMs: 200, maxLockRetries: 8 }, lambdaContext('apply'))) as ApplyDeployResult;
    clearTimeout(release);
    // Assess
    expect(result).toMatchObject({ status: 'done', applied: ['20240102000000_add_plan'] });
    expect(await seen).toContainEqual({ application_name: 'mr:apply-deploy:deploy-lock-1' });
    const retries = output.json().filter((l) => String(l.message).startsWith('lock timeout'));
    expect(retries.length).toBeGreaterThanOrEqual(1);
    // The watching session opens only once a wait lasts: on a loaded machine the first 200 ms
    // timeout may come before it has looked, so a later retry is the one that names the blocker.
    const named = retries.map((r) => JSON.stringify(r.blockers)).find((b) => b.includes(`"pid":${holder.pid}`));
    expect(named).toContain('report-job');
  });

  it('gives up after the lock retries with a named error and a failed row naming the blocking PID', async () => {
    // Prepare
    const dir = writeMigrations(USERS);
    localEnv(db.url, dir);
    await apply({ command: 'deploy' }, lambdaContext('apply'));
    writeMigrations({ '20240102000000_add_plan': { 'migration.sql': 'ALTER TABLE "users" ADD COLUMN "plan" TEXT;\n' } }, dir);
    const holder = await session('long-report');
    await holder.client.query('BEGIN; SELECT count(*) FROM "users"');
    try {
      // Act
      const error = await thrown(() => apply({ command: 'deploy', lockTimeoutMs: 100, maxLockRetries: 1 }, lambdaContext('apply')));
      // Assess
      expect(error.name).toBe('LockRetriesExhaustedError');
      expect(error.code).toBe('P3018');
      expect(error.message).toContain(`PID ${holder.pid}`);
      expect(error.details).toMatchObject({ migration: '20240102000000_add_plan', sqlState: '55P03' });
      const [row] = await rows(`SELECT "finished_at", "rolled_back_at", "logs" FROM "_prisma_migrations" WHERE "migration_name" = '20240102000000_add_plan'`);
      expect(row.finished_at).toBeNull();
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toContain('Lock retries exhausted');
      expect(row.logs).toContain(`PID ${holder.pid}`);
    } finally {
      await holder.client.query('ROLLBACK');
    }
  });

  it('fails a broken migration with a named error the state machine can catch and a Prisma-compatible failed row', async () => {
    // Prepare
    localEnv(db.url, writeMigrations({ ...USERS, '20240102000000_broken': { 'migration.sql': 'ALTER TABLE "users" ADD COLUMN "x" INT;\nALTER TABLE "nowhere" ADD COLUMN "y" INT;\n' } }));
    // Act
    const error = await thrown(() => apply({ command: 'deploy' }, lambdaContext('apply')));
    const refused = await thrown(() => apply({ command: 'deploy' }, lambdaContext('apply')));
    // Assess
    expect(error.name).toBe('MigrationFailedError');
    expect(error.details).toMatchObject({ migration: '20240102000000_broken', sqlState: '42P01', line: 2 });
    const history = await rows(`SELECT "migration_name", "finished_at" IS NOT NULL AS finished, "applied_steps_count", "logs" FROM "_prisma_migrations" ORDER BY "started_at"`);
    expect(history.map((r) => [r.migration_name, r.finished, r.applied_steps_count])).toEqual([
      ['20240101000000_users', true, 1],
      ['20240102000000_broken', false, 0],
    ]);
    expect(history[1].logs).toContain('Migration name: 20240102000000_broken');
    expect(history[1].logs).toContain('Database error code: 42P01');
    // The file ran as one transaction: its first statement left nothing behind.
    expect(await rows(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'x'`)).toEqual([{ n: 0 }]);
    expect(refused.name).toBe('FailedMigrationsError');
    expect(refused.code).toBe('P3009');
  });
});

describe('apply handler: rollback, resolve, blockers', () => {
  const PARTIAL = {
    '20240102000000_partial': {
      'migration.sql': 'CREATE INDEX CONCURRENTLY "users_status_idx" ON "users" ("status");\nALTER TABLE "nowhere" ADD COLUMN "y" INT;\n',
      'rollback.sql': 'DROP INDEX CONCURRENTLY IF EXISTS "users_status_idx";\n',
    },
  };

  it('runs rollback.sql of a half-applied migration and marks it rolled back', async () => {
    // Prepare: the CONCURRENTLY index commits on its own, then the next statement fails.
    localEnv(db.url, writeMigrations({ ...USERS, ...PARTIAL }));
    const failure = await thrown(() => apply({ command: 'deploy' }, lambdaContext('apply')));
    const indexBefore = await rows(`SELECT to_regclass('"users_status_idx"') IS NOT NULL AS present`);
    // Act
    const result = (await apply({ command: 'rollback', migration: '20240102000000_partial', executionName: 'exec-9' }, lambdaContext('apply'))) as ApplyRollbackResult;
    // Assess
    expect(failure.name).toBe('MigrationFailedError');
    expect(indexBefore).toEqual([{ present: true }]);
    expect(result).toEqual({ command: 'rollback', migration: '20240102000000_partial', rowsMarkedRolledBack: 1 });
    expect(await rows(`SELECT to_regclass('"users_status_idx"') IS NOT NULL AS present`)).toEqual([{ present: false }]);
    const [row] = await rows(`SELECT "rolled_back_at" IS NOT NULL AS rolled_back FROM "_prisma_migrations" WHERE "migration_name" = '20240102000000_partial'`);
    expect(row.rolled_back).toBe(true);
  });

  it('refuses a rollback without rollback.sql with RollbackFailedError', async () => {
    // Prepare
    localEnv(db.url, writeMigrations(USERS));
    await apply({ command: 'deploy' }, lambdaContext('apply'));
    // Act
    const error = await thrown(() => apply({ command: 'rollback', migration: '20240101000000_users' }, lambdaContext('apply')));
    // Assess
    expect(error.name).toBe('RollbackFailedError');
    expect(error.message).toContain('has no rollback.sql');
  });

  it('resolves a failed migration as rolled back, with Prisma semantics', async () => {
    // Prepare
    localEnv(db.url, writeMigrations({ ...USERS, ...PARTIAL }));
    await thrown(() => apply({ command: 'deploy' }, lambdaContext('apply')));
    // Act
    const result = await apply({ command: 'resolve', migration: '20240102000000_partial', as: 'rolled-back' }, lambdaContext('apply'));
    const again = await thrown(() => apply({ command: 'resolve', migration: '20240102000000_partial', as: 'rolled-back' }, lambdaContext('apply')));
    // Assess
    expect(result).toEqual({ command: 'resolve', migration: '20240102000000_partial', as: 'rolled-back' });
    expect(again.name).toBe('MigrationNotFailedError');
    expect(again.code).toBe('P3012');
  });

  it('terminates only named sessions that are still blocking, and reports the others', async () => {
    // Prepare
    localEnv(db.url, writeMigrations(USERS));
    await apply({ command: 'deploy' }, lambdaContext('apply'));
    const holder = await session('stuck-job');
    const waiter = await session('web');
    const bystander = await session('idle');
    await holder.client.query('BEGIN; LOCK TABLE "users" IN ACCESS EXCLUSIVE MODE');
    holder.client.on('error', () => undefined);
    const waiting = waiter.client.query('SELECT count(*) FROM "users"');
    await new Promise((r) => setTimeout(r, 300));
    // Act
    const listed = (await apply({ command: 'blockers' }, lambdaContext('apply'))) as ApplyBlockersResult;
    const acted = (await apply({ command: 'blockers', terminate: [holder.pid, bystander.pid, 999_999] }, lambdaContext('apply'))) as ApplyBlockersResult;
    await waiting;
    // Assess
    expect(listed.sessions.map((s) => [s.pid, s.blocking, s.blockedBy])).toEqual([
      [holder.pid, true, []],
      [waiter.pid, false, [holder.pid]],
    ]);
    expect(acted.terminated).toEqual([holder.pid]);
    expect(acted.skipped).toEqual([
      { pid: bystander.pid, reason: 'not blocking anyone now' },
      { pid: 999_999, reason: 'no such session in this database' },
    ]);
    expect(await rows(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1`, [holder.pid])).toEqual([{ n: 0 }]);
    expect(await rows(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1`, [bystander.pid])).toEqual([{ n: 1 }]);
  });

  it('rejects an unknown command naming the field', async () => {
    // Prepare
    localEnv(db.url, writeMigrations(USERS));
    // Act
    const error = await thrown(() => apply({ command: 'deploy', lockTimeoutMs: 5 }, lambdaContext('apply')));
    // Assess
    expect(error.name).toBe('InputValidationError');
    expect(error.message).toMatch(/^invalid apply event: lockTimeoutMs: /);
  });
});
