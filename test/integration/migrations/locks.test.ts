import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from 'pg';
import { connect } from '../../../lambdas/adapters/pg';
import { loadMigrations } from '../../../lambdas/adapters/fs-source';
import { deploy, resolve, status } from '../../../lambdas/core/migrations';
import type { OwnedDb } from '../../../lambdas/core/ports';
import { freshDatabase, type TestDatabase } from '../../helpers/database';
import { MigrationsDir } from '../../helpers/migrations-dir';

let database: TestDatabase;
let admin: Client;
let dir: MigrationsDir;
const sessions: OwnedDb[] = [];

beforeEach(async () => {
  database = await freshDatabase('locks');
  admin = await database.client();
  await admin.query(`CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 100) g`);
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await dir?.remove();
  await database.drop();
});

async function session(name: string): Promise<OwnedDb> {
  const db = await connect(database.url, { applicationName: name });
  sessions.push(db);
  return db;
}

const observer = () => session('migration-runner:observer');

async function baselined(migrations: Record<string, string>): Promise<MigrationsDir> {
  dir = await MigrationsDir.create({ '20240101000000_baseline': 'CREATE TABLE accounts (id int PRIMARY KEY, balance int);', ...migrations });
  await resolve(await session('resolve'), await loadMigrations(dir.path), { applied: '20240101000000_baseline' });
  return dir;
}

describe('lock safety', () => {
  it('retries under lock_timeout until the blocking transaction ends; readers never wait longer than lock_timeout', async () => {
    await baselined({ '20240102000000_add_column': 'ALTER TABLE accounts ADD COLUMN note text;' });
    const holder = await database.client();
    await holder.query(`BEGIN; SELECT * FROM accounts WHERE id = 1 FOR UPDATE`);
    const lockTimeoutMs = 400;
    const retries: number[] = [];
    const runner = await session('migration-runner:deploy');
    const deploying = deploy(runner, await loadMigrations(dir.path), {
      execution: { lockTimeoutMs, maxLockRetries: 20, retryBaseMs: 100, retryMaxMs: 300 },
      openObserver: observer,
      onEvent: (e) => {
        if (e.type === 'lock-retry') retries.push(e.blockers.length);
      },
    });
    // Live traffic: a reader polling the table while our ALTER keeps trying.
    const reader = await database.client();
    const waits: number[] = [];
    const readUntil = Date.now() + 2500;
    while (Date.now() < readUntil) {
      const t0 = Date.now();
      await reader.query('SELECT count(*) FROM accounts');
      waits.push(Date.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    await holder.query('COMMIT');

    const result = await deploying;

    expect(result.applied.map((m) => [m.name, m.lockRetries > 0])).toEqual([['20240102000000_add_column', true]]);
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((n) => n >= 1)).toBe(true);
    expect(Math.max(...waits)).toBeLessThanOrEqual(lockTimeoutMs + 500);
    const { rows } = await admin.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'`);
    expect(rows).toHaveLength(1);
  });

  it('with retries exhausted, fails cleanly, records the failure and names the blocking PID and query', async () => {
    await baselined({ '20240102000000_add_column': 'ALTER TABLE accounts ADD COLUMN note text;' });
    const holder = await database.client();
    const { rows: pidRows } = await holder.query('SELECT pg_backend_pid() AS pid');
    const holderPid = pidRows[0].pid;
    await holder.query(`BEGIN; UPDATE accounts SET balance = balance + 1 WHERE id = 7`);

    const error = await deploy(await session('migration-runner:deploy'), await loadMigrations(dir.path), {
      execution: { lockTimeoutMs: 200, maxLockRetries: 2, retryBaseMs: 50, retryMaxMs: 100 },
      openObserver: observer,
    }).catch((e) => e);

    expect(error).toMatchObject({ name: 'LockRetriesExhaustedError', code: 'P3018', details: { sqlState: '55P03', migration: '20240102000000_add_column' } });
    expect(error.details.blockers.map((b: { pid: number }) => b.pid)).toEqual([holderPid]);
    expect(error.details.blockers[0].query).toContain('UPDATE accounts SET balance');
    const { rows } = await admin.query(`SELECT logs, finished_at FROM _prisma_migrations WHERE migration_name = '20240102000000_add_column'`);
    expect(rows[0].finished_at).toBeNull();
    expect(rows[0].logs).toContain('Lock retries exhausted: lock_timeout (200ms) was hit 3 times');
    expect(rows[0].logs).toContain(`Blocked by: PID ${holderPid}`);
    expect(rows[0].logs).toContain('UPDATE accounts SET balance = balance + 1 WHERE id = 7');
    // Nothing of the migration is left behind, and no lock of ours remains queued.
    const { rows: cols } = await admin.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'`);
    expect(cols).toHaveLength(0);
    const { rows: waiting } = await admin.query(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`);
    expect(waiting[0].n).toBe(0);
    await holder.query('ROLLBACK');
  });

  it('drops the INVALID leftover of a CREATE INDEX CONCURRENTLY that hit lock_timeout, and builds it on retry', async () => {
    await baselined({ '20240102000000_index': 'CREATE INDEX CONCURRENTLY accounts_balance_idx ON accounts (balance);' });
    // A transaction holding an old snapshot makes CONCURRENTLY wait for it (after the index entry exists)
    // past our lock_timeout, which leaves an INVALID index behind.
    const holder = await database.client();
    await holder.query(`BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM accounts`);
    const events: string[] = [];
    const deploying = deploy(await session('migration-runner:deploy'), await loadMigrations(dir.path), {
      execution: { lockTimeoutMs: 300, maxLockRetries: 20, retryBaseMs: 100, retryMaxMs: 200 },
      openObserver: observer,
      onEvent: (e) => events.push(e.type),
    });
    await new Promise((r) => setTimeout(r, 1200));
    await holder.query('COMMIT');

    const result = await deploying;

    expect(result.applied).toHaveLength(1);
    expect(events).toContain('lock-retry');
    expect(events).toContain('invalid-index-dropped');
    const { rows } = await admin.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_balance_idx'::regclass`);
    expect(rows).toEqual([{ indisvalid: true }]);
  });
});

describe('concurrent deploys', () => {
  it('two deploys started at once apply each migration exactly once', async () => {
    dir = await MigrationsDir.create({
      '20240101000000_a': 'CREATE TABLE a (id int); SELECT pg_sleep(0.3);',
      '20240102000000_b': 'CREATE TABLE b (id int);',
    });
    await admin.query('DROP TABLE accounts');
    const migrations = await loadMigrations(dir.path);

    const [one, two] = await Promise.all([
      deploy(await session('migration-runner:one'), migrations),
      deploy(await session('migration-runner:two'), migrations),
    ]);

    expect([...one.applied, ...two.applied].map((m) => m.name).sort()).toEqual(['20240101000000_a', '20240102000000_b']);
    expect([one.applied.length, two.applied.length].sort()).toEqual([0, 2]);
    const { rows } = await admin.query(`SELECT migration_name, count(*)::int AS n FROM _prisma_migrations GROUP BY 1 ORDER BY 1`);
    expect(rows).toEqual([
      { migration_name: '20240101000000_a', n: 1 },
      { migration_name: '20240102000000_b', n: 1 },
    ]);
  });

  it('a deploy that cannot get the advisory lock in time fails with P1002 naming the holder', async () => {
    dir = await MigrationsDir.create({ '20240101000000_a': 'SELECT 1;' });
    const other = await database.client();
    await other.query(`SELECT set_config('application_name', 'other-deploy', false), pg_advisory_lock(72707369)`);
    const { rows } = await other.query('SELECT pg_backend_pid() AS pid');

    const started = Date.now();
    const error = await deploy(await session('migration-runner:deploy'), await loadMigrations(dir.path), { advisoryLockTimeoutMs: 500 }).catch((e) => e);

    expect(error).toMatchObject({ name: 'AdvisoryLockTimeoutError', code: 'P1002' });
    expect(error.message).toContain('Timed out trying to acquire a postgres advisory lock (SELECT pg_advisory_lock(72707369)). Timeout: 500ms.');
    expect(error.message).toContain(`PID ${rows[0].pid}, application other-deploy`);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('a deploy process killed with SIGKILL mid-migration', () => {
  it('leaves the migration unfinished: status reports it, deploy refuses until resolved, nothing applied twice', async () => {
    dir = await MigrationsDir.create({
      '20240101000000_first': 'CREATE TABLE first (id int);',
      '20240102000000_slow': 'CREATE TABLE slow (id int);\nINSERT INTO slow VALUES (1);\nSELECT pg_sleep(30);',
    });
    await admin.query('DROP TABLE accounts');
    const cli = join(__dirname, '../../../bin/migration-runner.js');
    const child = spawn(process.execPath, [cli, 'deploy', '--migrations', dir.path], {
      env: { ...process.env, DATABASE_URL: database.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Kill it once the slow migration is running.
    let running = false;
    for (let i = 0; i < 300 && !running; i++) {
      const { rows } = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()`);
      running = rows.length > 0;
      if (!running) await new Promise((r) => setTimeout(r, 100));
    }
    expect(running).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // client_connection_check_interval makes the server notice and abort within about a second.
    for (let i = 0; i < 50; i++) {
      const { rows } = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()`);
      if (rows.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const migrations = await loadMigrations(dir.path);

    const report = await status(await session('status'), migrations);
    expect(report.failed).toEqual([{ name: '20240102000000_slow', startedAt: expect.any(String), error: null }]);
    expect(report.exitCode).toBe(1);
    await expect(deploy(await session('deploy-2'), migrations)).rejects.toMatchObject({ code: 'P3009' });
    const { rows: slow } = await admin.query(`SELECT to_regclass('slow') AS t`);
    expect(slow[0].t).toBeNull();

    await resolve(await session('resolve'), migrations, { rolledBack: '20240102000000_slow' });
    await dir.add({ '20240102000000_slow': 'CREATE TABLE slow (id int);\nINSERT INTO slow VALUES (1);' });
    const result = await deploy(await session('deploy-3'), await loadMigrations(dir.path));

    expect(result.applied.map((m) => m.name)).toEqual(['20240102000000_slow']);
    const { rows: data } = await admin.query('SELECT count(*)::int AS n FROM slow');
    expect(data[0].n).toBe(1);
    const { rows: first } = await admin.query(`SELECT count(*)::int AS n FROM _prisma_migrations WHERE migration_name = '20240101000000_first'`);
    expect(first[0].n).toBe(1);
  });
});
