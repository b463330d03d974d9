/**
 * The one apply orchestration (lambdas/core/apply) against a real PostgreSQL: the advisory lock
 * comes before anything else, and the never-started backfill rule is the same for every caller.
 */
import type { Client } from 'pg';
import { connect } from '../../../lambdas/adapters/pg';
import { loadMigrations } from '../../../lambdas/adapters/fs-source';
import { applyMigrations, type Barrier } from '../../../lambdas/core/apply';
import { backfillFor, backfillState, controlBackfill, runBackfill } from '../../../lambdas/core/backfill';
import { deploy, type LocalMigration } from '../../../lambdas/core/migrations';
import type { OwnedDb } from '../../../lambdas/core/ports';
import { freshDatabase, type TestDatabase } from '../../helpers/database';
import { MigrationsDir } from '../../helpers/migrations-dir';

const HISTORY = {
  '20240101000000_users': "CREATE TABLE users (id bigserial PRIMARY KEY, status text);\nINSERT INTO users (status) SELECT NULL FROM generate_series(1, 2000);",
  '20240102000000_status': {
    sql: 'ALTER TABLE users ADD COLUMN tier text;',
    backfill: { name: 'users_tier', table: 'users', key: 'id', set: { tier: "'basic'" }, where: 'tier IS NULL' },
  },
  '20240103000000_orders': 'CREATE TABLE orders (id bigserial PRIMARY KEY);',
};
const NEXT = { '20240104000000_invoices': 'CREATE TABLE invoices (id bigserial PRIMARY KEY);' };

let database: TestDatabase;
let admin: Client;
let dir: MigrationsDir;
let db: OwnedDb;

beforeEach(async () => {
  database = await freshDatabase('orchestrate');
  admin = await database.client();
  dir = await MigrationsDir.create(HISTORY);
  db = await connect(database.url);
});
afterEach(async () => {
  await db.close();
  await dir.remove();
  await database.drop();
});

/** Applies the folder as Prisma would (no backfill run), up to and including `last`. */
async function applyWithoutBackfills(migrations: LocalMigration[], last: string): Promise<void> {
  await deploy(db, migrations, { hooks: { afterMigration: (m) => (m.name === last ? 'stop' : 'continue') } });
}

function recordBarriers(decision: 'stop' | 'continue' = 'stop') {
  const seen: Barrier[] = [];
  return { seen, onBarrier: (barrier: Barrier) => (seen.push(barrier), decision) };
}

it('takes the advisory lock before anything else: an owed barrier is not even looked at while another deploy holds the lock', async () => {
  // Prepare: an interrupted deploy left the barrier of 20240102 owed; another deploy holds the lock.
  const migrations = await loadMigrations(dir.path);
  await applyWithoutBackfills(migrations, '20240102000000_status');
  await admin.query('SELECT pg_advisory_lock(72707369)');
  const barriers = recordBarriers('continue');
  // Act
  const error = await applyMigrations(db, migrations, { onBarrier: barriers.onBarrier, advisoryLockTimeoutMs: 300 }).catch((e: unknown) => e);
  // Assess
  expect(error).toMatchObject({ name: 'AdvisoryLockTimeoutError', code: 'P1002' });
  expect((error as Error).message).toContain('Timed out trying to acquire a postgres advisory lock');
  expect(barriers.seen).toEqual([]);
  expect(await backfillState(db, 'users_tier')).toBeUndefined();
});

describe('never-started backfills: owed only when their migration is the newest applied one', () => {
  it('owes the backfill of the newest applied migration (a deploy stopped or died at its barrier)', async () => {
    const migrations = await loadMigrations(dir.path);
    await applyWithoutBackfills(migrations, '20240102000000_status');
    const barriers = recordBarriers('stop');

    const outcome = await applyMigrations(db, migrations, { onBarrier: barriers.onBarrier });

    expect(outcome).toMatchObject({ status: 'barrier', applied: [], remaining: ['20240103000000_orders'], barrier: { migration: '20240102000000_status', backfill: 'users_tier' } });
    expect(barriers.seen.map((b) => b.backfill)).toEqual(['users_tier']);
  });

  it('leaves alone a never-started backfill with later migrations applied after it (applied by Prisma, not the runner)', async () => {
    const migrations = await loadMigrations(dir.path);
    await applyWithoutBackfills(migrations, '20240103000000_orders');
    await dir.add(NEXT);
    const barriers = recordBarriers('stop');

    const outcome = await applyMigrations(db, await loadMigrations(dir.path), { onBarrier: barriers.onBarrier });

    expect(outcome).toMatchObject({ status: 'done', remaining: [] });
    expect(outcome.applied.map((a) => a.name)).toEqual(['20240104000000_invoices']);
    expect(barriers.seen).toEqual([]);
    expect(await backfillState(db, 'users_tier')).toBeUndefined();
  });

  it('owes a started backfill that is not done wherever its migration sits', async () => {
    // Prepare: the backfill started and was paused; later migrations were applied by hand since.
    const migrations = await loadMigrations(dir.path);
    await applyWithoutBackfills(migrations, '20240102000000_status');
    const started = await runBackfill(db, (await backfillFor(migrations[1]))!, { deadlineMs: Date.now() });
    expect(started.status).not.toBe('done');
    await controlBackfill(db, 'users_tier', 'pause');
    await deploy(db, migrations);
    await dir.add(NEXT);
    const barriers = recordBarriers('stop');
    // Act
    const outcome = await applyMigrations(db, await loadMigrations(dir.path), { onBarrier: barriers.onBarrier });
    // Assess
    expect(outcome).toMatchObject({ status: 'barrier', applied: [], remaining: ['20240104000000_invoices'], barrier: { backfill: 'users_tier' } });
    expect(barriers.seen.map((b) => b.migration)).toEqual(['20240102000000_status']);
  });
});

it('calls the barrier hook under the advisory lock, after each migration with a backfill not done, and goes on when it says continue', async () => {
  const migrations = await loadMigrations(dir.path);
  const lockHeld: boolean[] = [];
  const outcome = await applyMigrations(db, migrations, {
    onBarrier: async () => {
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 72707369 AND granted`);
      lockHeld.push(rows[0].n === 1);
      return 'continue' as const;
    },
  });

  expect(outcome.status).toBe('done');
  expect(outcome.applied.map((a) => a.name)).toEqual(Object.keys(HISTORY));
  expect(lockHeld).toEqual([true]);
});
