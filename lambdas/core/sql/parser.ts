/**
 * The one door to PostgreSQL's parser (libpg-query: the server's own grammar compiled to
 * WebAssembly). Nothing else imports libpg-query. Two grammars ship:
 * - PostgreSQL 17 (`libpg-query`): what apply runs. Migrations are split, and backfill SQL fragments
 *   checked, with it;
 * - PostgreSQL 18 (`libpg-query-18`): the linter and preflight's estimates, so that 18-only syntax
 *   (VIRTUAL generated columns...) parses; its scanner reads identifiers as written.
 * Each is required on first load, so a command that never parses (status) never pays for its
 * WebAssembly, and each is compiled once per process.
 */
type Pg17 = typeof import('libpg-query');
type Pg18 = typeof import('libpg-query-18');

interface Grammar<M extends { loadModule(): Promise<void> }> {
  /** Loads the WebAssembly module once; the sync functions need it loaded. */
  load(): Promise<void>;
  /** The loaded module; throws when load() has not finished. */
  module(): M;
}

function grammar<M extends { loadModule(): Promise<void> }>(name: string, requireModule: () => M): Grammar<M> {
  let loading: Promise<void> | undefined;
  let loaded: M | undefined;
  return {
    load() {
      loading ??= (async () => {
        const module = requireModule();
        await module.loadModule();
        loaded = module;
      })();
      return loading;
    },
    module() {
      if (!loaded) throw new Error(`the SQL parser (${name}) is not loaded: await its load() first`);
      return loaded;
    },
  };
}

// Literal requires: the bundler leaves them to the runtime (the packages ship beside the bundle).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pg17 = grammar<Pg17>('PostgreSQL 17 grammar', () => require('libpg-query') as Pg17);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pg18 = grammar<Pg18>('PostgreSQL 18 grammar', () => require('libpg-query-18') as Pg18);

/** Loads the PostgreSQL 17 grammar (migrations, backfill SQL). */
export function loadParser(): Promise<void> {
  return pg17.load();
}

/** Parses with the PostgreSQL 17 grammar; requires loadParser(). */
export function parseSync(sql: string): unknown {
  return pg17.module().parseSync(sql);
}

/** Loads the PostgreSQL 18 grammar (the linter, preflight's estimates). */
export function loadLatestParser(): Promise<void> {
  return pg18.load();
}

/** Parses with the PostgreSQL 18 grammar; requires loadLatestParser(). */
export function parseLatestSync(sql: string): unknown {
  return pg18.module().parseSync(sql);
}

/** The PostgreSQL 18 scanner's tokens (identifiers as written, before truncation); requires loadLatestParser(). */
export function scanLatestSync(sql: string): ReturnType<Pg18['scanSync']> {
  return pg18.module().scanSync(sql);
}
