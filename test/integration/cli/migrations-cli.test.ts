import { mkdir } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Client } from 'pg';
import { runCli as cli } from '../../helpers/cli';
import { freshDatabase, type TestDatabase } from '../../helpers/database';
import { MigrationsDir } from '../../helpers/migrations-dir';



let database: TestDatabase;
let admin: Client;
let dir: MigrationsDir;

beforeAll(async () => {
  database = await freshDatabase('cli');
  admin = await database.client();
});
afterAll(() => database.drop());
afterEach(() => dir?.remove());

async function untouched(): Promise<void> {
  const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace`);
  expect(rows[0].n).toBe(0);
}

describe('migration-runner status / deploy / resolve', () => {
  it('deploys, then reports up to date, with Prisma exit codes; JSON on stdout, progress on stderr', async () => {
    dir = await MigrationsDir.create({ '20240101000000_init': 'CREATE TABLE users (id int);', '20240102000000_bio': 'ALTER TABLE users ADD COLUMN bio text;' });
    const before = await cli(['status', '--migrations', dir.path, '--database-url', database.url]);
    expect(before).toMatchObject({ code: 1 });
    expect(before.stdout).toContain('The current database is not managed by Prisma Migrate.');

    const deployed = await cli(['deploy', '--migrations', dir.path, '--json'], { DATABASE_URL: database.url });
    expect(deployed.code).toBe(0);
    expect(JSON.parse(deployed.stdout).applied.map((m: { name: string }) => m.name)).toEqual(['20240101000000_init', '20240102000000_bio']);
    expect(deployed.stderr).toContain('applying 20240101000000_init');

    const after = await cli(['status', '--migrations', dir.path, '--database-url', database.url]);
    expect(after).toMatchObject({ code: 0 });
    expect(after.stdout).toContain('Database schema is up to date!');
    const json = await cli(['status', '--migrations', dir.path, '--database-url', database.url, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ managed: true, pending: [], exitCode: 0 });

    const resolved = await cli(['resolve', '--applied', '20240101000000_init', '--migrations', dir.path, '--database-url', database.url]);
    expect(resolved).toMatchObject({ code: 1 });
    expect(resolved.stderr).toBe('error: P3008: The migration `20240101000000_init` is already recorded as applied in the database.\n');
    await admin.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  });

  it('every command has --help, and an unknown command or flag is a usage error (exit 2)', async () => {
    for (const command of ['status', 'deploy', 'resolve']) {
      const help = await cli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: migration-runner ${command}`));
    }
    expect((await cli(['--help'])).stdout).toContain('deploy');
    expect(await cli(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
    expect(await cli(['deploy', '--lock-timeout', 'soon'], { DATABASE_URL: database.url })).toMatchObject({
      code: 2,
      stderr: 'error: --lock-timeout must be an integer between 100 and 60000, got "soon"\n',
    });
    expect(await cli(['deploy', '--bogus'])).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--bogus'") });
    expect(await cli(['resolve', '--migrations', 'x'], { DATABASE_URL: database.url })).toMatchObject({ code: 2, stderr: expect.stringContaining('exactly one of --applied') });
  });
});

describe('bad input: one clear line, non-zero exit, database untouched', () => {
  let blackhole: Server;
  let blackholePort: number;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts TCP connections and never answers: a host that does not respond.
    blackhole = createServer((socket) => sockets.push(socket));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', () => r()));
    blackholePort = (blackhole.address() as { port: number }).port;
  });
  afterAll(() => {
    sockets.forEach((s) => s.destroy());
    return new Promise((r) => blackhole.close(r));
  });

  const password = 'S3cret-Pa55word';

  it.each([
    ['missing folder', async () => ['deploy', '--migrations', '/nonexistent/prisma/migrations'], /^error: migrations folder \/nonexistent\/prisma\/migrations does not exist\n$/],
    [
      'unreadable file',
      async () => {
        dir = await MigrationsDir.create({});
        await mkdir(join(dir.path, '20240101000000_x', 'migration.sql'), { recursive: true });
        return ['deploy', '--migrations', dir.path];
      },
      /^error: cannot read 20240101000000_x\/migration\.sql: EISDIR\n$/,
    ],
    [
      'folder without migration.sql',
      async () => {
        dir = await MigrationsDir.create({});
        await mkdir(join(dir.path, '20240101000000_empty'));
        return ['deploy', '--migrations', dir.path];
      },
      /^error: P3015: Could not find the migration file at 20240101000000_empty\/migration\.sql/,
    ],
    [
      'SQL syntax error',
      async () => {
        dir = await MigrationsDir.create({ '20240101000000_ok': 'CREATE TABLE a (id int);', '20240102000000_bad': 'CREATE TABLE b (id int);\nALTER TABLE b ADD COLUMN;' });
        return ['deploy', '--migrations', dir.path];
      },
      /^error: 20240102000000_bad\/migration\.sql:2:25: syntax error at or near ";"\n$/,
    ],
    [
      'provider mismatch',
      async () => {
        dir = await MigrationsDir.create({ '20240101000000_ok': 'SELECT 1;' }, 'provider = "mysql"\n');
        return ['deploy', '--migrations', dir.path];
      },
      /^error: P3019: .*`mysql`/,
    ],
  ])('%s', async (_name, prepare, expected) => {
    const args = await prepare();
    const run = await cli(args, { DATABASE_URL: database.url });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(expected);
    expect(run.stdout).toBe('');
    await untouched();
  });

  it.each([
    ['a URL that is not PostgreSQL', () => `mysql://root:${password}@127.0.0.1:3306/app`, 2, /^error: the database URL is not a PostgreSQL URL: scheme "mysql" \(expected postgresql:\/\/\)\n$/],
    ['not a URL at all', () => `host=localhost password=${password}`, 2, /^error: the database URL is not a valid URL/],
    [
      'a wrong password',
      () => {
        const url = new URL(database.url);
        url.password = password;
        return url.toString();
      },
      1,
      /^error: P1000: Authentication failed against database server at `127\.0\.0\.1:\d+`, the provided database credentials for `postgres` are not valid\.\n$/,
    ],
    ['an unreachable host (bounded connect timeout)', () => `postgresql://app:${password}@127.0.0.1:${blackholePort}/app`, 1, /^error: P1001: Can't reach database server at `127\.0\.0\.1:\d+` \(connect timeout\)\.\n$/],
  ])('%s', async (_name, url, code, expected) => {
    dir = await MigrationsDir.create({ '20240101000000_ok': 'CREATE TABLE a (id int);' });
    const started = Date.now();
    const run = await cli(['deploy', '--migrations', dir.path, '--database-url', url(), '--connect-timeout', '1000']);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(expected);
    expect(run.stderr).not.toContain(password);
    expect(Date.now() - started).toBeLessThan(5000);
    await untouched();
  });
});
