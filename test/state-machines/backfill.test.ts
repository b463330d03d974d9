/**
 * Backfill barriers in migration.asl.json, executed offline with the real handlers: apply stops
 * after a migration with backfill.json, the backfill loop runs (with a health hold waited out by a
 * Wait state and a continue-as-new into a new execution), then the next migration applies.
 */
import { Client } from 'pg';
import { expectSucceeded, INIT, migrationRows, scenario, type Scenario } from './harness';

let s: Scenario | undefined;
afterEach(async () => {
  await s?.dispose();
  s = undefined;
});

const ROWS = 20_000;
const BARRIER = {
  '20240102000000_add_status': {
    sql: 'ALTER TABLE "users" ADD COLUMN "status" TEXT;\n',
    backfill: {
      name: 'users_status',
      table: 'users',
      key: 'id',
      set: { status: "'active'" },
      where: 'status IS NULL',
      // small, paced batches so the work spans several short invocations
      initialBatchSize: 50,
      maxBatchSize: 50,
      dutyCycle: 0.2,
      // any transaction open for more than half a second holds the backfill for a second
      health: { maxTransactionAgeSeconds: 0.5, holdSeconds: 1, checkIntervalMs: 1 },
    },
  },
  '20240103000000_status_index': { sql: 'CREATE INDEX CONCURRENTLY "users_status_idx" ON "users" ("status");\n' },
};

describe('backfill barrier', () => {
  it('holds while a long transaction is open, continues as new, finishes, then applies the next migration', async () => {
    let longTransaction: Client | undefined;
    s = await scenario(INIT, {
      // 1st batch run holds, 2nd works until its budget: then the 2-iteration cap continues as new
      maxLoopIterations: 2,
      // each invocation has ~2 s of work: the handler keeps 5 s back and the engine 1 s
      functionTimeoutsMs: { backfill: 8_000 },
      realWaitStates: ['HoldBackfill'],
      onEvent: (event) => {
        // the transaction ends while the state machine waits out the hold
        if (event.type === 'StateEntered' && event.state?.name === 'HoldBackfill' && longTransaction) {
          const ending = longTransaction;
          longTransaction = undefined;
          void ending.query('COMMIT').then(() => ending.end());
        }
      },
    });
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    await s.query(`INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, ${ROWS}) g`);
    s.folder.add(BARRIER);
    longTransaction = new Client({ connectionString: s.db.url });
    await longTransaction.connect();
    await longTransaction.query('BEGIN');
    await longTransaction.query('SELECT txid_current()');
    await new Promise((resolve) => setTimeout(resolve, 700));

    // snapshot: never: the local snapshot (CREATE DATABASE ... TEMPLATE) needs the database free of
    // other sessions, and this test keeps one open on purpose; the snapshot branch has its own tests
    const result = await s.executor.run({ action: 'deploy', snapshot: 'never' }, 'barrier');

    expectSucceeded(result);
    expect(result.executions).toBeGreaterThanOrEqual(2);
    expect(result.output).toMatchObject({ outcome: 'succeeded', continuedAs: expect.stringContaining(':execution:'), result: { outcome: 'succeeded' } });
    const states = result.states;
    expect(states).toEqual(expect.arrayContaining(['SetBarrierBackfill', 'RunBackfillBatch', 'HoldBackfill', 'ContinueAsNew', 'ResumeContinuation']));
    // the barrier: the backfill ran before the next migration was applied
    expect(states.indexOf('RunBackfillBatch')).toBeLessThan(states.lastIndexOf('ApplyMigrations'));
    // the continuation went through preflight again before applying
    expect(states.slice(states.indexOf('ResumeContinuation'))).toEqual(expect.arrayContaining(['RunPreflight', 'ApplyMigrations', 'VerifyDeploy']));
    const holds = result.invocations.filter((i) => i.handler === 'backfill');
    expect(holds.length).toBeGreaterThanOrEqual(4);
    // every run of the chain used the same lease owner: the first execution's name
    expect(new Set(holds.map((i) => (i.event as { executionName: string }).executionName))).toEqual(new Set(['barrier']));

    expect(await s.query('SELECT count(*)::int AS n FROM users WHERE status IS DISTINCT FROM $1', ['active'])).toEqual([{ n: 0 }]);
    expect((await migrationRows(s)).map((r) => [r.migration_name, r.finished_at !== null])).toEqual([
      ['20240101000000_init', true],
      ['20240102000000_add_status', true],
      ['20240103000000_status_index', true],
    ]);
    expect(await s.query("SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'users_status_idx'")).toEqual([{ valid: true }]);
  });
});
