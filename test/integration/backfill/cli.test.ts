import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../bin/cli';
import type { Io } from '../../../bin/commands/command';
import { definitionFromJson, runBackfill } from '../../../lambdas/core/backfill';
import { fixture, type Fixture } from './helpers';

const NAME = '20240202000000_fill_status';
const json = { table: 'items', key: 'id', set: { status: "'active'" }, where: 'status IS NULL', targetBatchMs: 20, initialBatchSize: 200 };

let fx: Fixture;
let dir: string;
beforeEach(async () => {
  fx = await fixture();
  dir = await mkdtemp(join(tmpdir(), 'mr-backfill-cli-'));
  await mkdir(join(dir, NAME));
  await writeFile(join(dir, NAME, 'migration.sql'), 'ALTER TABLE items ADD COLUMN IF NOT EXISTS status text;\n');
  await writeFile(join(dir, NAME, 'backfill.json'), JSON.stringify(json));
  const db = await fx.session();
  await db.query(`CREATE TABLE items (id serial PRIMARY KEY, status text); INSERT INTO items (status) SELECT NULL FROM generate_series(1, 60000)`);
});
afterEach(async () => {
  await fx.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { DATABASE_URL: fx.database.url }, isTty: false };
  const code = await main(['backfill', ...argv], io);
  return { code, stdout, stderr };
}

describe('migration-runner backfill', () => {
  it('runs a migration folder backfill to done, printing progress to stderr and the result to stdout', async () => {
    // Act
    const run = await cli('--name', NAME, '--migrations', dir, '--json');

    // Assess
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ name: NAME, status: 'done', rowsDone: 60000 });
    expect(run.stderr).toMatch(new RegExp(`backfill ${NAME}: done verify 100.0 %, 60000 rows`));
    expect(run.stderr).not.toContain(fx.database.url);
  });

  it('pause, run (refused while paused), resume, run without --name', async () => {
    // Prepare: a backfill left half-way by a worker whose time ran out.
    const db = await fx.session();
    const first = await runBackfill(db, definitionFromJson(json, NAME), { deadlineMs: Date.now() + 1200 });

    // Act
    const pause = await cli('--name', NAME, '--pause');
    const whilePaused = await cli('--name', NAME, '--migrations', dir);
    const resume = await cli('--name', NAME, '--resume');
    const finish = await cli('--migrations', dir);

    // Assess
    expect(first.status).toBe('running');
    expect(pause).toMatchObject({ code: 0, stdout: `backfill ${NAME}: paused\n` });
    expect(whilePaused.code).toBe(1);
    expect(whilePaused.stderr).toContain('is paused; resume it');
    expect(resume).toMatchObject({ code: 0, stdout: `backfill ${NAME}: running\n` });
    expect(finish.code).toBe(0);
    expect(finish.stdout).toMatch(new RegExp(`^backfill ${NAME}: done, 60,000 rows changed in \\d+ batches\n$`));
  });

  it.each([
    { argv: ['--pause', '--resume', '--name', NAME], code: 2, message: 'use only one of --pause, --resume, --cancel' },
    { argv: ['--pause'], code: 2, message: '--pause needs --name' },
    { argv: ['--cancel', '--name', 'nope'], code: 2, message: 'no backfill named "nope" has started' },
    { argv: ['--name', 'nope', '--migrations', 'DIR'], code: 2, message: 'no migration folder "nope"' },
    { argv: ['--migrations', 'DIR'], code: 2, message: 'no unfinished backfill: pass --name' },
  ])('$argv -> exit $code', async ({ argv, code, message }) => {
    const run = await cli(...argv.map((a) => (a === 'DIR' ? dir : a)));
    expect(run.code).toBe(code);
    expect(run.stderr).toContain(message);
  });
});
