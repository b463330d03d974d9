/**
 * Child process of test/helpers/prisma-oracle.ts: Prisma's own schema engine (npm
 * @prisma/schema-engine-wasm) driven through @prisma/adapter-pg, answering requests over the IPC
 * channel. Plain ESM JavaScript run by Node itself, outside jest's module system (see prisma-oracle.ts
 * for why). Not a test file and not bundled anywhere.
 *
 * Protocol: the parent sends { id, method, params }, the worker answers { id, result } or
 * { id, error: { name, code, message, logs } }. Events without an id: { event: 'ready', version },
 * { event: 'shadow', database, state: 'created' | 'dropped' }, { event: 'fatal', message }.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const pg = require('pg');
const { PrismaPg } = require('@prisma/adapter-pg');
const { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } = require('@prisma/driver-adapter-utils');
const pgParser = require('libpg-query');

const send = (message) => process.send?.(message);

// The wasm-bindgen glue reports a Rust panic's message here just before the instance traps; the
// trap surfaces as an uncaught RuntimeError ('unreachable') and the instance is unusable after it.
let panicMessage;
globalThis.PRISMA_WASM_PANIC_REGISTRY = { set_message: (message) => (panicMessage = message) };
const fatal = (error) => {
  send({ event: 'fatal', message: panicMessage ? `schema engine panicked: ${panicMessage}` : String(error?.stack ?? error) });
  process.exit(1);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
// The parent (a jest worker) went away: nothing else will ever be asked.
process.on('disconnect', () => process.exit(0));

/**
 * The package's entry imports the .wasm file as an ES module (WebAssembly/ESM integration: behind
 * --experimental-wasm-modules before Node 24). Instantiating the module from its own JS glue works
 * the same on every Node version, without flags or loaders.
 */
async function loadEngine() {
  const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const glue = await import(pathToFileURL(gluePath).href);
  const bytes = await readFile(gluePath.replace(/\.js$/, '.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return glue;
}

// --- Workarounds for @prisma/adapter-pg 7.10.1 (each one checked, so a new version fails loudly) ---

/**
 * adapter-pg's executeScript splits the script on every ';' (comments, strings and function bodies
 * included), so a migration with "-- a; b" in a comment fails with a syntax error. The engine hands
 * each migration file to executeScript; here the statements come from PostgreSQL's own parser and run
 * one by one in autocommit, which is what the adapter means to do. A file the parser rejects is sent
 * whole, so the server reports the syntax error as it would.
 */
function splitStatements(script) {
  let tree;
  try {
    tree = pgParser.parseSync(script);
  } catch (error) {
    // An empty or comment-only script has no statement; a syntax error goes to the server whole.
    if (/empty/i.test(String(error?.message))) return [];
    if (!error?.sqlDetails) throw error;
    return [script];
  }
  const bytes = Buffer.from(script, 'utf8');
  return (tree.stmts ?? []).map((s) => {
    const start = s.stmt_location ?? 0;
    return bytes.subarray(start, s.stmt_len ? start + s.stmt_len : bytes.length).toString('utf8');
  });
}

let prototypesPatched = false;
/**
 * adapter-pg maps column types by OID and has no case for PostgreSQL's one-byte "char" (OID 18),
 * which the engine's schema describer reads from pg_catalog (contype, relkind...) during diff; the
 * engine expects a Character value there. The patch reads such columns as text and reports them as
 * Character.
 */
function patchAdapterPrototypes(adapter) {
  if (prototypesPatched) return;
  const queryable = Object.getPrototypeOf(Object.getPrototypeOf(adapter));
  const { queryRaw, performIO } = queryable;
  if (typeof queryRaw !== 'function' || typeof performIO !== 'function' || typeof adapter.executeScript !== 'function') {
    throw new Error('@prisma/adapter-pg internals changed (queryRaw/performIO/executeScript): revisit prisma-oracle-worker.mjs');
  }
  queryable.queryRaw = async function queryRawWithChar(query) {
    let charColumns = [];
    const self = Object.create(this, {
      performIO: {
        value: async (q) => {
          const result = await performIO.call(this, q);
          charColumns = result.fields.flatMap((field, i) => (field.dataTypeID === 18 ? [i] : []));
          for (const i of charColumns) result.fields[i].dataTypeID = 25;
          return result;
        },
      },
    });
    const out = await queryRaw.call(self, query);
    for (const i of charColumns) out.columnTypes[i] = ColumnTypeEnum.Character;
    return out;
  };
  Object.getPrototypeOf(adapter).executeScript = async function executeStatements(script) {
    for (const statement of splitStatements(script)) {
      try {
        await this.client.query(statement);
      } catch (error) {
        this.onError(error);
      }
    }
  };
  prototypesPatched = true;
}

async function adminQuery(config, sql) {
  const client = new pg.Client(config);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * The factory the engine connects through. Its shadow database (used by diff) is created and dropped
 * here: adapter-pg's own connectToShadowDb connects to the main database when configured with a
 * connectionString (the string wins over `database`), and drops the shadow database while its pool
 * is still connected.
 */
function adapterFactory(config, opened) {
  // Ended by the engine or, at the latest, when the command is over; whichever comes first.
  const track = (adapter) => {
    patchAdapterPrototypes(adapter);
    const dispose = adapter.dispose.bind(adapter);
    let disposing;
    adapter.dispose = () => {
      opened.delete(adapter);
      disposing ??= dispose();
      return disposing;
    };
    opened.add(adapter);
    return adapter;
  };
  const main = new PrismaPg(config);
  return bindMigrationAwareSqlAdapterFactory({
    provider: main.provider,
    adapterName: main.adapterName,
    connect: async () => track(await main.connect()),
    async connectToShadowDb() {
      const database = `prisma_oracle_shadow_${randomUUID().replaceAll('-', '')}`;
      await adminQuery(config, `CREATE DATABASE "${database}"`);
      send({ event: 'shadow', database, state: 'created' });
      const adapter = await new PrismaPg({ ...config, database }).connect();
      const dispose = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        await dispose();
        await adminQuery(config, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
        send({ event: 'shadow', database, state: 'dropped' });
      };
      return track(adapter);
    },
  });
}

function connectionConfig(url) {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  if (schema && schema !== 'public') throw new Error(`the oracle runs on the public schema only (got ?schema=${schema})`);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
  };
}

/** The folder as Prisma's CLI reads it (packages/migrate listMigrations): every subdirectory, sorted. */
async function migrationsList(dir) {
  const lockfile = await readFile(join(dir, 'migration_lock.toml'), 'utf8').catch(() => null);
  const entries = await readdir(dir, { withFileTypes: true });
  const migrationDirectories = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory())
      .map(async (entry) => ({
        path: entry.name,
        migrationFile: {
          path: 'migration.sql',
          content: await readFile(join(dir, entry.name, 'migration.sql'), 'utf8').then(
            (value) => ({ tag: 'ok', value }),
            (error) => ({ tag: 'error', value: String(error.message) }),
          ),
        },
      })),
  );
  migrationDirectories.sort((a, b) => a.path.localeCompare(b.path));
  return { baseDir: dir, lockfile: { path: 'migration_lock.toml', content: lockfile }, shadowDbInitScript: '', migrationDirectories };
}

const DATASOURCE = 'datasource db { provider = "postgresql" }';
const filtersOf = (params) => ({ externalTables: params.externalTables ?? [], externalEnums: params.externalEnums ?? [] });

const engine = await loadEngine();
await pgParser.loadModule();

/**
 * Runs one command on a new SchemaEngine bound to `url`, then frees it and ends its pools, as each
 * Prisma CLI command runs in a process of its own. The engine takes Prisma's advisory lock
 * (pg_advisory_lock(72707369), session level) for deploy and resolve and never unlocks it: the native
 * CLI's connection ends with its process. A kept engine would hold the lock on an idle pooled
 * connection, and our deploy would wait for it.
 */
async function withEngine(url, run) {
  const opened = new Set();
  const logs = [];
  const log = (line) => {
    logs.push(line);
    if (logs.length > 20) logs.shift();
  };
  let instance;
  try {
    instance = await engine.SchemaEngine.new({ datamodels: [['schema.prisma', DATASOURCE]] }, log, adapterFactory(connectionConfig(url), opened));
    return await run(instance);
  } catch (error) {
    throw Object.assign(error instanceof Error ? error : new Error(String(error)), { engineLogs: logs.slice(-10) });
  } finally {
    instance?.free();
    await Promise.all([...opened].map((adapter) => adapter.dispose()));
  }
}

const methods = {
  diagnose: async ({ url, dir }) => {
    const migrations = await migrationsList(dir);
    return withEngine(url, (e) => e.diagnoseMigrationHistory({ migrationsList: migrations, optInToShadowDatabase: false, filters: filtersOf({}) }));
  },
  applyMigrations: async ({ url, dir }) => {
    const migrations = await migrationsList(dir);
    return withEngine(url, (e) => e.applyMigrations({ migrationsList: migrations, filters: filtersOf({}) }));
  },
  markMigrationRolledBack: ({ url, name }) => withEngine(url, (e) => e.markMigrationRolledBack({ migrationName: name })),
  markMigrationApplied: async ({ url, dir, name }) => {
    const migrations = await migrationsList(dir);
    return withEngine(url, (e) => e.markMigrationApplied({ migrationName: name, migrationsList: migrations }));
  },
  diff: async (params) => {
    const migrations = await migrationsList(params.dir);
    return withEngine(params.url, (e) =>
      e.diff({
        from: { tag: 'migrations', ...migrations },
        to: { tag: 'schemaDatasource', files: [{ path: 'schema.prisma', content: DATASOURCE }], configDir: params.dir },
        script: params.script ?? false,
        exitCode: true,
        filters: filtersOf(params),
      }),
    );
  },
  // Every command has released its engine and pools already.
  close: async () => null,
};

process.on('message', async ({ id, method, params }) => {
  let reply;
  try {
    const handler = methods[method];
    if (!handler) throw new Error(`unknown method ${method}`);
    reply = { id, result: (await handler(params)) ?? null };
  } catch (error) {
    reply = { id, error: { name: error?.name ?? 'Error', code: error?.code ?? null, message: String(error?.message ?? error), logs: error?.engineLogs ?? [] } };
  }
  // After close, the reply is the last message: exit once it is sent.
  process.send?.(reply, method === 'close' ? () => process.exit(0) : undefined);
});

send({ event: 'ready', version: engine.version() });
