import { backfillState, controlBackfill, PAUSED_POLL_SECONDS, runBackfill, type BatchEvent } from '../../../lambdas/core/backfill';
import { BackfillFailedError, BackfillLeaseHeldError } from '../../../lambdas/core/errors';
import type { Clock, OwnedDb } from '../../../lambdas/core/ports';
import { definition, fixture, type Fixture } from './helpers';

let fx: Fixture;
let db: OwnedDb;
beforeEach(async () => {
  fx = await fixture();
  db = await fx.session();
});
afterEach(async () => {
  await fx.cleanup();
});

async function intTable(rows: number): Promise<void> {
  await db.query(`CREATE TABLE items (id bigserial PRIMARY KEY, email text NOT NULL, email_lower text)`);
  await db.query(`INSERT INTO items (email) SELECT 'User' || g || '@Example.com' FROM generate_series(1, $1::int) g`, [rows]);
}

async function pending(): Promise<number> {
  return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM items WHERE email_lower IS DISTINCT FROM lower(email)`)).rows[0].n;
}

const base = { table: 'items', key: 'id', set: { email_lower: 'lower(email)' }, where: 'email_lower IS NULL', targetBatchMs: 20, initialBatchSize: 100 };

describe('rows inserted during the backfill', () => {
  it.each([
    { shape: 'integer key (new keys above the frozen bound)', ddl: 'id bigserial PRIMARY KEY', insertKey: '' },
    { shape: 'UUID key (new keys anywhere, also behind the cursor)', ddl: 'id uuid PRIMARY KEY DEFAULT gen_random_uuid()', insertKey: '' },
  ])('$shape are backfilled too', async ({ ddl }) => {
    // Prepare
    await db.query(`CREATE TABLE items (${ddl}, email text NOT NULL, email_lower text)`);
    await db.query(`INSERT INTO items (email) SELECT 'User' || g || '@Example.com' FROM generate_series(1, 5000) g`);
    const writer = await fx.session();
    let inserted = 0;
    const onEvent = async (e: BatchEvent) => {
      if (e.type === 'batch' && e.phase === 'main' && inserted < 3) {
        inserted++;
        await writer.query(`INSERT INTO items (email) SELECT 'Late' || g || '@Example.com' FROM generate_series(1, 100) g`);
      }
    };

    // Act
    const result = await runBackfill(db, definition(base), { onEvent });

    // Assess
    expect(inserted).toBe(3);
    expect(result.status).toBe('done');
    expect(result.rowsDone).toBe(5300);
    expect(await pending()).toBe(0);
  });
});

describe('timeouts', () => {
  it('a statement timeout mid-run halves the batch and retries the same range', async () => {
    // Prepare: the first evaluation for id 3000 sleeps past statement_timeout (the sequence is not rolled back).
    await intTable(6000);
    await db.query(`CREATE SEQUENCE slow_once;
      CREATE FUNCTION slow_lower(k bigint, e text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
      BEGIN IF k = 3000 AND nextval('slow_once') = 1 THEN PERFORM pg_sleep(2); END IF; RETURN lower(e); END $$`);
    const events: BatchEvent[] = [];

    // Act
    const result = await runBackfill(db, definition({ ...base, set: { email_lower: 'slow_lower(id, email)' }, statementTimeoutMs: 300 }), {
      onEvent: (e) => void events.push(e),
    });

    // Assess
    const timeouts = events.filter((e) => e.type === 'timeout');
    expect(timeouts).toHaveLength(1);
    expect(timeouts[0].outcome).toBe('statement-timeout');
    const retry = events[events.indexOf(timeouts[0]) + 1];
    expect(retry).toMatchObject({ type: 'batch', from: timeouts[0].from, batchSize: Math.floor((timeouts[0].batchSize ?? 0) / 2) });
    expect(result.status).toBe('done');
    expect(await pending()).toBe(0);
    expect((await backfillState(db, 'test_backfill'))?.failedBatches).toBe(1);
  });

  it('a forced lock wait: the range fails 3 times, is set aside, and is retried at the end', async () => {
    // Prepare: another transaction holds the row lock of id 2500 until the range is set aside.
    await intTable(5000);
    const blocker = await fx.session();
    await blocker.query(`BEGIN; SELECT * FROM items WHERE id = 2500 FOR UPDATE`);
    const events: BatchEvent[] = [];
    const onEvent = async (e: BatchEvent) => {
      events.push(e);
      if (e.type === 'set-aside') await blocker.query('COMMIT');
    };

    // Act
    const result = await runBackfill(db, definition({ ...base, lockTimeoutMs: 50, health: { maxLockTimeouts: 10 } }), { onEvent });

    // Assess
    const lockTimeouts = events.filter((e) => e.type === 'timeout' && e.outcome === 'lock-timeout');
    expect(lockTimeouts.length).toBeGreaterThanOrEqual(3);
    const setAside = events.filter((e) => e.type === 'set-aside');
    expect(setAside).toHaveLength(1);
    const [from, to] = [BigInt(setAside[0].from?.[0] ?? 'x'), BigInt(setAside[0].to?.[0] ?? 'x')];
    expect(from < 2500n && 2500n <= to).toBe(true);
    expect(events.filter((e) => e.type === 'phase').map((e) => e.message)).toEqual(['retry', 'verify', 'done']);
    expect(events.some((e) => e.type === 'batch' && e.phase === 'retry' && e.changed && e.changed > 0)).toBe(true);
    expect(result.status).toBe('done');
    expect(await pending()).toBe(0);
  });

  it('lock timeouts across the table hold the backfill instead of hammering', async () => {
    // Prepare: a transaction locks every row.
    await intTable(2000);
    const blocker = await fx.session();
    await blocker.query(`BEGIN; SELECT count(*) FROM (SELECT * FROM items FOR UPDATE) x`);

    // Act
    const result = await runBackfill(db, definition({ ...base, lockTimeoutMs: 20, health: { maxLockTimeouts: 4, holdSeconds: 42 } }));

    // Assess
    expect(result).toMatchObject({ status: 'holding', waitSeconds: 42, rowsDone: 0 });
    expect(result.holdReason).toMatch(/lock_timeout/);
    expect((await backfillState(db, 'test_backfill'))?.status).toBe('holding');
    await blocker.query('ROLLBACK');
  });
});

describe('operator control', () => {
  it('pause stops a running backfill at its next batch; resume finishes it', async () => {
    // Prepare
    await intTable(5000);
    const operator = await fx.session();
    let batches = 0;
    const onEvent = async (e: BatchEvent) => {
      if (e.type === 'batch' && ++batches === 3) await controlBackfill(operator, 'test_backfill', 'pause');
    };

    // Act
    const paused = await runBackfill(db, definition(base), { onEvent });
    const pendingWhilePaused = await pending();
    const again = await runBackfill(db, definition(base));
    const pendingAfterSecondCall = await pending();
    await controlBackfill(operator, 'test_backfill', 'resume');
    const done = await runBackfill(db, definition(base));

    // Assess
    expect(paused).toMatchObject({ status: 'paused', waitSeconds: PAUSED_POLL_SECONDS });
    expect(pendingWhilePaused).toBeGreaterThan(0);
    expect(pendingWhilePaused).toBeLessThan(5000);
    expect(again.status).toBe('paused');
    expect(pendingAfterSecondCall).toBe(pendingWhilePaused);
    expect(done.status).toBe('done');
    expect(await pending()).toBe(0);
  });

  it('cancel stops it for good (runs fail) until resumed', async () => {
    // Prepare
    await intTable(5000);
    const operator = await fx.session();
    let batches = 0;
    const onEvent = async (e: BatchEvent) => {
      if (e.type === 'batch' && ++batches === 2) await controlBackfill(operator, 'test_backfill', 'cancel');
    };

    // Act
    const cancelled = runBackfill(db, definition(base), { onEvent });
    await expect(cancelled).rejects.toThrow(BackfillFailedError);
    const state = await backfillState(db, 'test_backfill');
    const rerun = runBackfill(db, definition(base));
    await expect(rerun).rejects.toThrow(/cancelled/);
    await controlBackfill(operator, 'test_backfill', 'resume');
    const done = await runBackfill(db, definition(base));

    // Assess
    expect(state?.status).toBe('cancelled');
    expect(done.status).toBe('done');
    expect(await pending()).toBe(0);
  });

  it('a done backfill cannot be paused', async () => {
    await intTable(100);
    await runBackfill(db, definition(base));
    await expect(controlBackfill(db, 'test_backfill', 'pause')).rejects.toThrow(/done/);
  });
});

describe('lease', () => {
  it('two workers at once: one wins the lease, the other gets BackfillLeaseHeldError', async () => {
    // Prepare
    await intTable(5000);
    const other = await fx.session();
    let second: Promise<unknown> | undefined;
    const onEvent = async (e: BatchEvent) => {
      if (e.type === 'batch' && !second) {
        second = runBackfill(other, definition(base), { owner: 'worker-b' }).catch((error: unknown) => error);
        await second;
      }
    };

    // Act
    const first = await runBackfill(db, definition(base), { owner: 'worker-a', onEvent });

    // Assess
    const error = await second;
    expect(error).toBeInstanceOf(BackfillLeaseHeldError);
    expect((error as Error).message).toContain('worker-a');
    expect(first.status).toBe('done');
    expect(await pending()).toBe(0);
    expect((await backfillState(db, 'test_backfill'))?.leaseOwner).toBeNull();
  });
});

describe('time budget, health and replay', () => {
  it('returns before the deadline with progress and ETA; the next call resumes from the cursor', async () => {
    // Prepare
    await intTable(100_000);
    const def = definition({ ...base, initialBatchSize: 500 });

    // Act
    const first = await runBackfill(db, def, { deadlineMs: Date.now() + 1300 });
    const pendingAfterFirst = await pending();
    const second = await runBackfill(db, def);

    // Assess
    expect(first.status).toBe('running');
    expect(first.waitSeconds).toBe(0);
    expect(first.progress).toBeGreaterThan(0);
    expect(first.progress).toBeLessThan(1);
    expect(first.etaSeconds).toEqual(expect.any(Number));
    expect(first.ratePerSec).toBeGreaterThan(0);
    expect(first.rowsDone).toBe(100_000 - pendingAfterFirst);
    expect(second.status).toBe('done');
    expect(second.rowsDone).toBe(100_000);
  });

  it('a long-running transaction holds the backfill: waitSeconds is returned, nothing is touched', async () => {
    // Prepare
    await intTable(1000);
    const old = await fx.session();
    await old.query(`BEGIN; SELECT txid_current(); SELECT pg_sleep(1.2)`);
    let offset = 0;
    const clock: Clock = { now: () => new Date(Date.now() + offset), sleep: async () => undefined };
    const def = definition({ ...base, health: { maxTransactionAgeSeconds: 1, holdSeconds: 7 } });

    // Act
    const held = await runBackfill(db, def, { clock });
    const stillHeld = await runBackfill(db, def, { clock });
    await old.query('COMMIT');
    offset = 8_000;
    const done = await runBackfill(db, def, { clock });

    // Assess
    expect(held).toMatchObject({ status: 'holding', waitSeconds: 7, rowsDone: 0 });
    expect(held.holdReason).toMatch(/transaction has been open/);
    expect(stillHeld.status).toBe('holding');
    expect(stillHeld.waitSeconds).toBeGreaterThan(0);
    expect(stillHeld.waitSeconds).toBeLessThanOrEqual(7);
    expect(done.status).toBe('done');
    expect(await pending()).toBe(0);
  });

  it('replaying the whole backfill changes nothing (no row version is written twice)', async () => {
    // Prepare
    await intTable(3000);
    await runBackfill(db, definition(base));
    const versions = (await db.query<{ v: string }>(`SELECT string_agg(xmin::text, ',' ORDER BY id) AS v FROM items`)).rows[0].v;
    await db.query(`UPDATE _migration_runner_backfills SET status = 'running', phase = 'main', cursor = NULL`);

    // Act
    const replay = await runBackfill(db, definition(base));

    // Assess
    expect(replay.status).toBe('done');
    expect(replay.rowsDone).toBe(3000);
    expect((await db.query<{ v: string }>(`SELECT string_agg(xmin::text, ',' ORDER BY id) AS v FROM items`)).rows[0].v).toBe(versions);
  });

  it('a set that leaves rows matching where fails at its first batch (where requires the column NULL: no replay guard)', async () => {
    await intTable(500);
    const run = runBackfill(db, definition({ ...base, set: { email_lower: "CASE WHEN id % 2 = 0 THEN lower(email) END" } }));
    await expect(run).rejects.toThrow('50 rows of (0] .. (100] would still match `where` after their update (the batch was undone): `set` does not finish them');
    expect(await backfillState(db, 'test_backfill')).toMatchObject({ status: 'failed', batches: 0, rowsDone: 0 });
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM items WHERE email_lower IS NOT NULL`)).rows[0].n).toBe(0);
  });

  it('with the replay guard, rows the set leaves as they are are skipped and the verify pass fails the backfill', async () => {
    await intTable(500);
    const where = 'email_lower IS DISTINCT FROM lower(email)';
    const run = runBackfill(db, definition({ ...base, where, set: { email_lower: "CASE WHEN id % 2 = 0 THEN lower(email) END" } }));
    await expect(run).rejects.toThrow(/verify: 250 rows still match `where`/);
    expect((await backfillState(db, 'test_backfill'))?.status).toBe('failed');
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM items WHERE email_lower IS NULL`)).rows[0].n).toBe(250);
  });
});
