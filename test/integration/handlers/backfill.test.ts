import type { BackfillStepResult } from '../../../lambdas/core/contracts';
import { freshDatabase, type TestDatabase } from '../../helpers/database';
import { lambdaContext, loadHandler, localEnv, thrown, writeMigrations, type Handler } from './support/lambda';
import { captureOutput, type CapturedOutput } from './support/output';

const FOLDERS = {
  '20240101000000_orders': {
    'migration.sql': 'CREATE TABLE "orders" ("id" BIGINT PRIMARY KEY, "total" INT, "currency" TEXT);\nCREATE TABLE "events" ("id" BIGINT PRIMARY KEY, "kind" TEXT NOT NULL, "kind_lower" TEXT);\n',
  },
  '20240102000000_currency': {
    'migration.sql': 'SELECT 1;\n',
    'backfill.json': JSON.stringify({ table: 'orders', key: 'id', set: { currency: "'EUR'" }, where: '"currency" IS NULL' }),
  },
  '20240103000000_events': {
    'migration.sql': 'SELECT 1;\n',
    'backfill.json': JSON.stringify({ table: 'events', key: 'id', set: { kind_lower: 'lower(kind)' }, where: 'kind_lower IS NULL', parallel: 2, targetBatchMs: 20 }),
  },
};

let db: TestDatabase;
let apply: Handler;
let backfill: Handler;
let output: CapturedOutput;

beforeAll(async () => {
  db = await freshDatabase('backfill');
  localEnv(db.url, writeMigrations(FOLDERS));
  apply = await loadHandler('apply');
  backfill = await loadHandler('backfill');
  await apply({ command: 'deploy' }, lambdaContext('apply'));
  const client = await db.client();
  await client.query('INSERT INTO "orders" SELECT g, g, NULL FROM generate_series(1, 20000) g');
  await client.query('ANALYZE "orders"');
  await client.query(`INSERT INTO "events" SELECT g, 'Kind-' || (g % 17), NULL FROM generate_series(1, 200000) g`);
  await client.query('ANALYZE "events"');
});

beforeEach(() => {
  output = captureOutput();
});
afterEach(() => output.restore());
afterAll(async () => db.drop());

const call = (name: string, command: string) => backfill({ name, command, executionName: 'exec-7' }, lambdaContext('backfill')) as Promise<BackfillStepResult>;

describe('backfill handler', () => {
  it('reports a backfill that never ran as pending, runs it by migration name, pauses, resumes and finishes it', async () => {
    // Act
    const before = await call('20240102000000_currency', 'status');
    const paused = await thrown(() => call('20240102000000_currency', 'pause'));
    let run = await call('20240102000000_currency', 'run');
    for (let i = 0; i < 20 && !run.done; i++) run = await call('20240102000000_currency', 'run');
    const status = await call('20240102000000_currency', 'status');
    // Assess
    expect(before).toEqual({ name: '20240102000000_currency', status: 'pending', done: false, cursor: null, rowsDone: 0, rowsEstimate: 0, ratePerSec: 0, etaSeconds: null, waitSeconds: 0 });
    expect(paused.name).toBe('InputValidationError'); // nothing to pause before it started
    expect(run).toMatchObject({ name: '20240102000000_currency', status: 'done', done: true, rowsDone: 20000, waitSeconds: 0 });
    expect(status).toMatchObject({ status: 'done', done: true, rowsDone: 20000 });
  });

  it('walks `parallel` partitions on sessions it opens, and closes them before returning', async () => {
    // Act
    let run = await call('20240103000000_events', 'run');
    for (let i = 0; i < 20 && !run.done; i++) run = await call('20240103000000_events', 'run');

    // Assess
    expect(run).toMatchObject({ status: 'done', done: true, rowsDone: 200000 });
    const client = await db.client();
    const parts = await client.query(`SELECT jsonb_array_length(parts) AS n FROM _migration_runner_backfills WHERE name = '20240103000000_events'`);
    expect(parts.rows[0].n).toBe(1);
    const left = await client.query(`SELECT count(*)::int AS n FROM "events" WHERE kind_lower IS DISTINCT FROM lower(kind)`);
    expect(left.rows[0].n).toBe(0);
    const sessions = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'mr:backfill%'`);
    expect(sessions.rows[0].n).toBe(0);
  });

  it('refuses an unknown backfill name before touching the database', async () => {
    // Act
    const error = await thrown(() => call('nope', 'run'));
    // Assess
    expect(error.name).toBe('BackfillDefinitionError');
    expect(error.message).toContain('no backfill named "nope"');
  });

  it('rejects an unknown command naming the field', async () => {
    // Act
    const error = await thrown(() => call('20240102000000_currency', 'restart'));
    // Assess
    expect(error.name).toBe('InputValidationError');
    expect(error.message).toMatch(/command: /);
  });
});
