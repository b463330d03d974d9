/**
 * `parallel`: the main phase split into partitions at sampled keys, walked at once on sessions
 * the caller opens. The result must equal one UPDATE, whatever the key, with rows inserted
 * meanwhile, across a pause, and without sessions to open (one session walks every partition).
 */
import { connect } from '../../../lambdas/adapters/pg';
import { backfillState, controlBackfill, runBackfill, type BatchEvent } from '../../../lambdas/core/backfill';
import type { OwnedDb } from '../../../lambdas/core/ports';
import { definition, fixture, snapshot, type Fixture } from './helpers';

const ROWS = 150_000;
const LANE_APP = 'backfill-test-lane';

let fx: Fixture;
let db: OwnedDb;
beforeEach(async () => {
  fx = await fixture();
  db = await fx.session();
});
afterEach(async () => {
  await fx.cleanup();
});

const openSession = () => connect(fx.database.url, { applicationName: LANE_APP });
const json = (extra: Record<string, unknown> = {}) => ({ table: 'items', key: 'id', set: { email_lower: 'lower(email)' }, where: 'email_lower IS NULL', targetBatchMs: 30, parallel: 3, ...extra });

async function table(key: 'bigint' | 'uuid'): Promise<void> {
  const id = key === 'bigint' ? 'id bigserial PRIMARY KEY' : 'id uuid PRIMARY KEY DEFAULT gen_random_uuid()';
  await db.query(`CREATE TABLE items (${id}, email text NOT NULL, email_lower text)`);
  await db.query(`INSERT INTO items (email) SELECT 'User' || g || '@Example.COM' FROM generate_series(1, ${ROWS}) g`);
  if (key === 'bigint') await db.query('DELETE FROM items WHERE id % 11 = 0');
  await db.query('ANALYZE items');
  await db.query(`CREATE TABLE expected AS SELECT * FROM items; UPDATE expected SET email_lower = lower(email) WHERE email_lower IS NULL`);
}

async function laneSessions(): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [LANE_APP]);
  return rows[0].n;
}

describe('parallel partitions', () => {
  it.each([{ key: 'bigint' as const }, { key: 'uuid' as const }])('$key key: three partitions on three sessions, same result as one UPDATE', async ({ key }) => {
    // Prepare
    await table(key);
    const events: BatchEvent[] = [];
    let sessionsDuring = 0;

    // Act
    const result = await runBackfill(db, definition(json()), {
      openSession,
      onEvent: async (e) => {
        events.push(e);
        if (e.type === 'batch' && e.phase === 'main' && e.lane === 1 && sessionsDuring === 0) sessionsDuring = await laneSessions();
      },
    });

    // Assess
    const count = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM items`)).rows[0].n;
    expect(result).toMatchObject({ status: 'done', rowsDone: count });
    expect(await snapshot(db, 'items', 'id')).toEqual(await snapshot(db, 'expected', 'id'));
    const state = await backfillState(db, 'test_backfill');
    expect(state?.parts).toHaveLength(2);
    expect(state?.parts?.every((part) => part.cursor !== null && part.cursor.join() === part.to.join())).toBe(true);
    expect(new Set(events.filter((e) => e.type === 'batch' && e.phase === 'main').map((e) => e.lane))).toEqual(new Set([0, 1, 2]));
    // The first lane calibrates alone; the partitions start at the size it calibrated (whatever this
    // machine's speed made it), not at the initial size again.
    const split = events.findIndex((e) => e.type === 'phase' && /^split into 3 partitions/.test(e.message ?? ''));
    expect(split).toBeGreaterThan(1);
    const calibrated = events.slice(0, split).filter((e) => e.type === 'batch').pop()?.nextBatchSize;
    expect(calibrated).not.toBe(1000);
    // A partition's first attempt (a batch, or a timeout that halved it) is at the calibrated size.
    const firstAttempt = (lane: number) => events.find((e) => (e.type === 'batch' || e.type === 'timeout') && e.lane === lane)?.batchSize;
    expect(firstAttempt(1)).toBe(calibrated);
    expect(firstAttempt(2)).toBe(calibrated);
    expect(sessionsDuring).toBe(2);
    expect(await laneSessions()).toBe(0);
  });

  it('without a way to open sessions, the table is not split and one session walks it', async () => {
    // Prepare
    await table('bigint');
    const events: BatchEvent[] = [];

    // Act
    const result = await runBackfill(db, definition(json()), { onEvent: (e) => void events.push(e) });

    // Assess
    expect(result.status).toBe('done');
    expect(await snapshot(db, 'items', 'id')).toEqual(await snapshot(db, 'expected', 'id'));
    expect((await backfillState(db, 'test_backfill'))?.parts).toBeNull();
    expect(new Set(events.filter((e) => e.type === 'batch').map((e) => e.lane))).toEqual(new Set([0]));
  });

  it('rows inserted into every partition during the main phase are backfilled too (verify covers them)', async () => {
    // Prepare
    await table('bigint');
    const writer = await fx.session();
    let writing = true;
    let inserted = 0;
    const insert = (async () => {
      while (writing) {
        // Into gaps all over the key range (ids divisible by 11 were deleted), and past the end.
        const id = 11 * (1 + Math.floor(Math.random() * (ROWS / 11)));
        await writer.query(`INSERT INTO items (id, email) VALUES ($1::bigint, 'Late' || $1::bigint || '@X.COM'), ($1::bigint + ${ROWS + 1000}, 'End' || $1::bigint || '@X.COM') ON CONFLICT DO NOTHING`, [id]);
        inserted++;
      }
    })();

    // Act: the writer stops when the main phase ends.
    const result = await runBackfill(db, definition(json()), {
      openSession,
      onEvent: async (e) => {
        if (e.type === 'phase' && e.message === 'verify' && writing) {
          writing = false;
          await insert;
        }
      },
    });

    // Assess
    expect(result.status).toBe('done');
    expect(inserted).toBeGreaterThan(10);
    const left = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM items WHERE email_lower IS DISTINCT FROM lower(email)`);
    expect(left.rows[0].n).toBe(0);
  });

  it('a pause from another session stops every partition; resume finishes with the same result', async () => {
    // Prepare
    await table('bigint');
    const operator = await fx.session();
    let paused = false;

    // Act
    const first = await runBackfill(db, definition(json()), {
      openSession,
      onEvent: async (e) => {
        if (!paused && e.type === 'batch' && e.lane === 2) {
          paused = true;
          await controlBackfill(operator, 'test_backfill', 'pause');
        }
      },
    });
    const atPause = await backfillState(db, 'test_backfill');
    await controlBackfill(operator, 'test_backfill', 'resume');
    const second = await runBackfill(db, definition(json()), { openSession });

    // Assess
    expect(first.status).toBe('paused');
    expect(atPause?.status).toBe('paused');
    expect(atPause?.rowsDone).toBeLessThan(ROWS);
    expect(second.status).toBe('done');
    expect(await snapshot(db, 'items', 'id')).toEqual(await snapshot(db, 'expected', 'id'));
    expect(await laneSessions()).toBe(0);
  });
});
