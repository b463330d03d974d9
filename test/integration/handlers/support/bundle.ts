/**
 * Bundles a handler exactly as the CDK stack does: the options come from lib/bundling.ts, the one
 * bundling module the construct and the local executor use too. Tests invoke these bundles, so
 * what is tested is what Lambda runs; `npm run bench:bundles` measures the same bundles.
 *
 * Bundles are written under node_modules/.cache so that, like in Lambda (/var/task/node_modules
 * and the runtime's SDK), `require('libpg-query')` and `require('@aws-sdk/...')` resolve.
 */
import { build } from 'esbuild';
import type { Metafile } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { esbuildOptions, HANDLER_ENTRIES, HANDLER_NAMES, REPOSITORY_ROOT, type HandlerName } from '../../../../lib/bundling';

export { HANDLER_NAMES, type HandlerName };
export const ROOT = REPOSITORY_ROOT;
/** Where test and benchmark bundles go (inside node_modules: resolution finds the externals). */
export const BUNDLE_ROOT = join(ROOT, 'node_modules/.cache/mr-bundles');

export interface BundledHandler {
  readonly name: HandlerName;
  readonly file: string;
  readonly metafile: Metafile;
}

export async function bundleHandler(name: HandlerName, outdir = join(BUNDLE_ROOT, name)): Promise<BundledHandler> {
  mkdirSync(outdir, { recursive: true });
  const result = await build(esbuildOptions(HANDLER_ENTRIES[name], join(outdir, 'index.js')));
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
