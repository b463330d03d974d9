/**
 * The CLI runs the backfill in a child process, which is killed with SIGKILL a random number of
 * batches after an event read from the state table (never after a guessed time);
 * a resumed run must leave the table exactly as one single UPDATE would, with no row skipped and
 * no row changed twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { backfillState, definitionFromJson, runBackfill } from '../../../lambdas/core/backfill';
import { BackfillLeaseHeldError } from '../../../lambdas/core/errors';
import { fixture, snapshot, type Fixture } from './helpers';

const ROOT = resolve(__dirname, '../../..');
const NAME = '20240101000000_fill_email_lower';

let fx: Fixture;
let dir: string;
beforeEach(async () => {
  fx = await fixture();
  dir = await mkdtemp(join(tmpdir(), 'mr-backfill-'));
});
afterEach(async () => {
  await fx.cleanup();
  await rm(dir, { recursive: true, force: true });
});

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
}

describe('SIGKILL at a random batch, then resume', () => {
  it.each([
    { shape: 'integer key', ddl: 'id bigserial PRIMARY KEY', order: 'id', rows: 60_000, parallel: 1 },
    { shape: 'UUID key', ddl: 'id uuid PRIMARY KEY DEFAULT gen_random_uuid()', order: 'id', rows: 60_000, parallel: 1 },
    { shape: 'integer key, three parallel partitions', ddl: 'id bigserial PRIMARY KEY', order: 'id', rows: 150_000, parallel: 3 },
  ])('$shape: final table equals the single-UPDATE result', async ({ ddl, order, rows, parallel }) => {
    // Prepare
    const db = await fx.session();
    await db.query(`CREATE TABLE items (${ddl}, email text NOT NULL, email_lower text, n int NOT NULL)`);
    await db.query(`INSERT INTO items (email, n) SELECT 'User' || g || '@Example.COM', g FROM generate_series(1, ${rows}) g`);
    await db.query('ANALYZE items');
    await db.query(`CREATE TABLE expected AS SELECT * FROM items; UPDATE expected SET email_lower = lower(email) || ':' || n WHERE email_lower IS NULL`);
    const json = { table: 'items', key: 'id', set: { email_lower: "lower(email) || ':' || n" }, where: 'email_lower IS NULL', targetBatchMs: 25, initialBatchSize: 500, parallel };
    await mkdir(join(dir, NAME));
    await writeFile(join(dir, NAME, 'migration.sql'), 'ALTER TABLE items ADD COLUMN IF NOT EXISTS email_lower text;\n');
    await writeFile(join(dir, NAME, 'backfill.json'), JSON.stringify(json));
    // Killed a random number of batches after an observed event: the third batch with one lane;
    // with partitions, the first batch a partition committed (so they are known to be in use).
    const extra = Math.floor(Math.random() * 10);

    // Act: run the CLI, kill it once the state row shows the event plus `extra` batches.
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/cli.ts', 'backfill', '--name', NAME, '--migrations', dir], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: fx.database.url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    const exit = exited(child);
    let running = true;
    void exit.then(() => (running = false));
    let killAt: number | undefined;
    let batchesAtKill = 0;
    let partitionsInUse = false;
    while (running) {
      const state = await backfillState(db, NAME).catch(() => undefined);
      if (state && killAt === undefined) {
        partitionsInUse = (state.parts ?? []).some((part) => part.cursor !== null);
        if (parallel === 1 ? state.batches >= 3 : partitionsInUse) killAt = state.batches + extra;
      }
      if (state && killAt !== undefined && state.batches >= killAt) {
        batchesAtKill = state.batches;
        child.kill('SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const { signal } = await exit;
    const afterKill = await backfillState(db, NAME);
    // Resume in-process: the killed worker's session may still be finishing its statement.
    let result;
    for (let attempt = 0; ; attempt++) {
      try {
        result = await runBackfill(db, definitionFromJson(json, NAME));
        break;
      } catch (error) {
        if (!(error instanceof BackfillLeaseHeldError) || attempt > 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    // Assess
    expect({ signal, stderr: signal === 'SIGKILL' ? '' : stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
    expect(partitionsInUse).toBe(parallel > 1);
    expect(batchesAtKill).toBeGreaterThanOrEqual(killAt ?? Infinity);
    expect(afterKill?.status).toBe('running');
    expect(afterKill?.phase).toBe('main');
    expect(result.status).toBe('done');
    expect(result.rowsDone).toBe(rows);
    expect(afterKill?.parts?.length ?? 0).toBe(parallel - 1);
    expect(await snapshot(db, 'items', order)).toEqual(await snapshot(db, 'expected', order));
  });
});
