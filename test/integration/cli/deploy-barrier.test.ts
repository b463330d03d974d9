import type { Client } from 'pg';
import { runCli as cli } from '../../helpers/cli';
import { connect } from '../../../lambdas/adapters/pg';
import { loadMigrations } from '../../../lambdas/adapters/fs-source';
import { applyMigrations } from '../../../lambdas/core/apply';
import { backfillState, ensureBackfillDone } from '../../../lambdas/core/backfill';
import { deploy } from '../../../lambdas/core/migrations';
import { freshDatabase, type TestDatabase } from '../../helpers/database';
import { MigrationsDir } from '../../helpers/migrations-dir';

let database: TestDatabase;
let admin: Client;
let dir: MigrationsDir;

const threeStepNotNull = {
  '20240101000000_users': "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);\nINSERT INTO users (email) SELECT 'u' || g || '@x.io' FROM generate_series(1, 20000) g;",
  '20240102000000_status_nullable': {
    sql: 'ALTER TABLE users ADD COLUMN status text;',
    backfill: { table: 'users', key: 'id', set: { status: "'active'" }, where: 'status IS NULL', targetBatchMs: 50 },
  },
  '20240103000000_status_not_null':
    'ALTER TABLE users ADD CONSTRAINT users_status_not_null CHECK (status IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT users_status_not_null;\nALTER TABLE users ALTER COLUMN status SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_status_not_null;',
};

beforeEach(async () => {
  database = await freshDatabase('barrier');
  admin = await database.client();
  dir = await MigrationsDir.create(threeStepNotNull);
});
afterEach(async () => {
  await dir.remove();
  await database.drop();
});

async function nullStatuses(): Promise<number> {
  const { rows } = await admin.query(`SELECT count(*)::int AS n FROM users WHERE status IS NULL`);
  return rows[0].n;
}

it('deploy runs a backfill barrier to completion before the next migration (the 3-step NOT NULL)', async () => {
  const run = await cli(['deploy', '--migrations', dir.path, '--json'], { DATABASE_URL: database.url });

  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout).applied.map((m: { name: string }) => m.name)).toEqual(Object.keys(threeStepNotNull));
  expect(run.stderr).toContain('backfill 20240102000000_status_nullable: running before the next migration');
  expect(await nullStatuses()).toBe(0);
  const { rows } = await admin.query(`SELECT is_nullable FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'status'`);
  expect(rows[0].is_nullable).toBe('NO');
  const shown = await cli(['status', '--migrations', dir.path], { DATABASE_URL: database.url });
  expect(shown.code).toBe(0);
  expect(shown.stdout).toMatch(/Backfills:\n {2}20240102000000_status_nullable {2}done \(\w+\) 100\.0 % {2}20,000 rows changed/);
});

it('finishes a barrier left unfinished by an interrupted deploy before applying anything else', async () => {
  // An earlier deploy applied the nullable column and stopped before its backfill (as if killed).
  const db = await connect(database.url);
  await deploy(db, await loadMigrations(dir.path), { hooks: { afterMigration: (m) => (m.name === '20240102000000_status_nullable' ? 'stop' : 'continue') } });
  await db.close();
  expect(await nullStatuses()).toBe(20000);

  const run = await cli(['deploy', '--migrations', dir.path, '--json'], { DATABASE_URL: database.url });

  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout).applied.map((m: { name: string }) => m.name)).toEqual(['20240103000000_status_not_null']);
  expect(await nullStatuses()).toBe(0);
});

it('leaves alone a never-started backfill with later migrations applied after it (the same rule as the apply Lambda)', async () => {
  // Prisma applied the whole history (it ignores backfill.json; the column was filled by hand);
  // the team now deploys with the runner.
  const db = await connect(database.url);
  const migrations = await loadMigrations(dir.path);
  await deploy(db, migrations, { hooks: { afterMigration: (m) => (m.name === '20240102000000_status_nullable' ? 'stop' : 'continue') } });
  await admin.query(`UPDATE users SET status = 'active'`);
  await deploy(db, migrations);
  await db.close();
  await dir.add({ '20240104000000_orders': 'CREATE TABLE orders (id bigserial PRIMARY KEY);' });

  const run = await cli(['deploy', '--migrations', dir.path, '--json'], { DATABASE_URL: database.url });

  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout).applied.map((m: { name: string }) => m.name)).toEqual(['20240104000000_orders']);
  expect(run.stderr).not.toContain('backfill 20240102000000_status_nullable');
});

it('a second deploy during a barrier waits on the advisory lock and gives up with P1002, leaving the running backfill alone', async () => {
  // Prepare: deploy A is inside its barrier, one batch into the backfill (lease and advisory lock held).
  const migrations = await loadMigrations(dir.path);
  const db = await connect(database.url);
  let inBarrier!: () => void;
  const reached = new Promise<void>((resolve) => (inBarrier = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const first = applyMigrations(db, migrations, {
    onBarrier: async ({ definition }) => {
      await ensureBackfillDone(db, definition, {
        onEvent: async (event) => {
          if (event.type !== 'batch') return;
          inBarrier();
          await released;
        },
      });
      return 'continue' as const;
    },
  });
  try {
    await reached;
    const before = await backfillState(db, '20240102000000_status_nullable');
    // Act: deploy B
    const second = await cli(['deploy', '--migrations', dir.path, '--advisory-lock-timeout', '500'], { DATABASE_URL: database.url });
    // Assess: B waited on the lock and touched nothing (before the fix it raced A for the lease)
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('Timed out trying to acquire a postgres advisory lock (SELECT pg_advisory_lock(72707369)). Timeout: 500ms.');
    expect(second.stderr).not.toContain('another worker');
    expect(await backfillState(db, '20240102000000_status_nullable')).toMatchObject({ status: 'running', rowsDone: before!.rowsDone, leaseOwner: before!.leaseOwner });
  } finally {
    release();
    await first.finally(() => db.close());
  }
  expect(await nullStatuses()).toBe(0);
});

it('refuses an invalid backfill.json before touching the database', async () => {
  await dir.add({ '20240102000000_status_nullable': { sql: 'ALTER TABLE users ADD COLUMN status text;', backfill: { table: 'users', key: 'id', sett: {} } } });

  const run = await cli(['deploy', '--migrations', dir.path], { DATABASE_URL: database.url });

  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/^error: 20240102000000_status_nullable\/backfill\.json: `set`/);
  const { rows } = await admin.query(`SELECT to_regclass('_prisma_migrations') AS t`);
  expect(rows[0].t).toBeNull();
});
