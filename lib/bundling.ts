/**
 * How the four handlers are bundled, declared once: the construct (NodejsFunction bundling), the
 * local executor (esbuild in-process), the handler tests and `npm run bench:bundles` all build
 * from these options. Plain data and esbuild options: no CDK import, so the executor and the tests
 * do not load aws-cdk-lib.
 *
 * The SQL parsers stay outside the bundle and are shipped beside it: each libpg-query build
 * (PostgreSQL 17 and 18 grammars) loads its WebAssembly file, named libpg-query.wasm in both, from
 * its own package directory; inlined into one bundle both would read the same file and the process
 * aborts (LinkError).
 */
import type { BuildOptions } from 'esbuild';
import * as path from 'node:path';

export const REPOSITORY_ROOT = path.join(__dirname, '..');

export const HANDLER_NAMES = ['preflight', 'apply', 'backfill', 'verify'] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

/** The only place lib/ names handler code: entry files of the four Lambdas. */
export const HANDLER_ENTRIES: Record<HandlerName, string> = {
  preflight: path.join(REPOSITORY_ROOT, 'lambdas/handlers/preflight.ts'),
  apply: path.join(REPOSITORY_ROOT, 'lambdas/handlers/apply.ts'),
  backfill: path.join(REPOSITORY_ROOT, 'lambdas/handlers/backfill.ts'),
  verify: path.join(REPOSITORY_ROOT, 'lambdas/handlers/verify.ts'),
};

export const HANDLER_BUNDLE = {
  format: 'cjs',
  target: 'node24',
  minify: true,
  sourceMap: true,
  /** The Lambda runtime ships the AWS SDK v3; the parser packages are shipped beside the bundle. */
  externalModules: ['@aws-sdk/*', 'libpg-query', 'libpg-query-18'],
  /** Packages copied beside each bundle (node_modules/...), from this repository's node_modules. */
  runtimePackages: ['libpg-query', 'libpg-query-18', '@pgsql/types'],
} as const;

/** esbuild options of one bundle (`entry` -> `outfile`), as the construct bundles the functions. */
export function esbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: HANDLER_BUNDLE.format,
    target: HANDLER_BUNDLE.target,
    minify: HANDLER_BUNDLE.minify,
    sourcemap: HANDLER_BUNDLE.sourceMap,
    external: [...HANDLER_BUNDLE.externalModules],
    metafile: true,
    logLevel: 'silent',
  };
}

/** Shell commands run after bundling: the migrations and the runtime packages beside the bundle. */
export function afterBundlingCommands(migrationsDirectory: string, outputDir: string): string[] {
  const nodeModules = path.join(REPOSITORY_ROOT, 'node_modules');
  return [
    // Ship the migrations with the code: the deployed functions apply exactly what was reviewed.
    `cp -R "${migrationsDirectory}" "${outputDir}/migrations"`,
    `mkdir -p "${outputDir}/node_modules/@pgsql"`,
    ...HANDLER_BUNDLE.runtimePackages.map((pkg) => `cp -R "${path.join(nodeModules, pkg)}" "${outputDir}/node_modules/${pkg.startsWith('@') ? `${pkg.split('/')[0]}/` : ''}"`),
  ];
}
