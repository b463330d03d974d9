/**
 * Bundles a handler the way the CDK stack does (lib/migration-runner.ts bundlingOptions: esbuild,
 * CJS, node24, minified, source maps, @aws-sdk/* left to the runtime). Tests invoke these bundles,
 * so what is tested is what Lambda runs; `npm run bench:bundles` measures the same bundles.
 *
 * The SQL parsers stay outside the bundle (NODE_MODULES, CDK `bundling.nodeModules`): each
 * libpg-query build loads its WebAssembly file, named libpg-query.wasm in both the PostgreSQL 17
 * and 18 builds, from its own directory as soon as it is required. Inlined into one bundle both
 * would read the same file next to index.js and the process aborts (LinkError). Installed as
 * packages, each finds its own.
 *
 * Bundles are written under node_modules/.cache so that, like in Lambda (/var/task/node_modules
 * and the runtime's SDK), `require('libpg-query')` and `require('@aws-sdk/...')` resolve.
 */
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const HANDLER_NAMES = ['preflight', 'apply', 'backfill', 'verify'] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

export const ROOT = join(__dirname, '../../../..');
/** Where test and benchmark bundles go (inside node_modules: resolution finds the externals). */
export const BUNDLE_ROOT = join(ROOT, 'node_modules/.cache/mr-bundles');

/** Packages each function ships beside its bundle (CDK: `bundling.nodeModules`). */
export const NODE_MODULES = ['libpg-query', 'libpg-query-18'] as const;

export function esbuildOptions(name: HandlerName, outdir: string): BuildOptions {
  return {
    entryPoints: [join(ROOT, 'lambdas/handlers', `${name}.ts`)],
    outfile: join(outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    sourcemap: true,
    external: ['@aws-sdk/*', ...NODE_MODULES],
    metafile: true,
    logLevel: 'silent',
  };
}

export interface BundledHandler {
  readonly name: HandlerName;
  readonly file: string;
  readonly metafile: Metafile;
}

export async function bundleHandler(name: HandlerName, outdir = join(BUNDLE_ROOT, name)): Promise<BundledHandler> {
  mkdirSync(outdir, { recursive: true });
  const result = await build(esbuildOptions(name, outdir));
  return { name, file: join(outdir, 'index.js'), metafile: result.metafile! };
}

/** Jest ends its workers without 'exit' handlers: remove bundles of processes that are gone. */
function sweepStaleBundles(): void {
  if (!existsSync(BUNDLE_ROOT)) return;
  for (const entry of readdirSync(BUNDLE_ROOT)) {
    const pid = Number(/-(\d+)$/.exec(entry)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(BUNDLE_ROOT, entry), { recursive: true, force: true });
    }
  }
}

const built = new Map<HandlerName, Promise<BundledHandler>>();
/** Bundles once per test process. */
export function bundled(name: HandlerName): Promise<BundledHandler> {
  let found = built.get(name);
  if (!found) {
    if (built.size === 0) sweepStaleBundles();
    const outdir = join(BUNDLE_ROOT, `${name}-${process.pid}`);
    found = bundleHandler(name, outdir);
    built.set(name, found);
    process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
  }
  return found;
}
