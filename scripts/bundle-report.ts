/**
 * npm run bench:bundles — bundles each handler with esbuild exactly as the CDK stack does
 * (lib/bundling.ts: CJS, node24, minified, @aws-sdk/* and the SQL parser packages external), then prints for each: the bundle's size, the size of the parser packages
 * shipped beside it, whether any native addon slipped in (the functions run on arm64), and the cold
 * module-load time measured in fresh Node processes (median and best of N): the time to
 * `require()` the bundle, and until its SQL parser's WebAssembly is ready.
 * Targets: bundle < 3 MB, load < 300 ms.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { HANDLER_BUNDLE } from '../lib/bundling';
import { BUNDLE_ROOT, bundleHandler, HANDLER_NAMES, ROOT, type HandlerName } from '../test/integration/handlers/support/bundle';

const RUNS = Number(process.env.RUNS ?? 7);
const NODE = join(ROOT, 'node_modules/.bin/node');
const PARSER: Record<HandlerName, string> = { preflight: 'libpg-query-18', apply: 'libpg-query', backfill: 'libpg-query', verify: 'libpg-query' };
const MB = 1024 * 1024;

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

interface Sample {
  readonly loadMs: number;
  /** CPU time (user + system) of the require: steady when the machine is shared. */
  readonly loadCpuMs: number;
  readonly readyMs: number;
}

function loadTimes(file: string, parser: string): Sample {
  const probe = `
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const m = require(${JSON.stringify(file)});
    const t1 = process.hrtime.bigint();
    const c1 = process.cpuUsage(c0);
    if (typeof m.handler !== 'function') throw new Error('no handler export');
    require(${JSON.stringify(parser)}).loadModule().then(() => {
      const t2 = process.hrtime.bigint();
      process.stdout.write(JSON.stringify({ loadMs: Number(t1 - t0) / 1e6, loadCpuMs: (c1.user + c1.system) / 1000, readyMs: Number(t2 - t0) / 1e6 }));
      process.exit(0);
    });`;
  // A Lambda-like environment: no DATABASE_URL, the region set, Powertools at its defaults.
  const env = { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', POWERTOOLS_SERVICE_NAME: 'migration-runner' };
  return JSON.parse(execFileSync(NODE, ['-e', probe], { cwd: join(file, '..'), env, encoding: 'utf8' })) as Sample;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const RUNTIME_PACKAGES = HANDLER_BUNDLE.runtimePackages;
  console.log(`bundling options: lib/bundling.ts, the construct's own (${HANDLER_BUNDLE.format}, ${HANDLER_BUNDLE.target}, minify ${HANDLER_BUNDLE.minify}, external ${HANDLER_BUNDLE.externalModules.join(' ')})`);
  const packageBytes = Object.fromEntries(RUNTIME_PACKAGES.map((pkg) => [pkg, dirBytes(join(ROOT, 'node_modules', pkg))]));
  const shipped = Object.values(packageBytes).reduce((a, b) => a + b, 0);
  console.log(`parser packages shipped beside each bundle: ${RUNTIME_PACKAGES.map((p) => `${p} ${(packageBytes[p] / MB).toFixed(2)} MB`).join(', ')}`);
  console.log(`cold load: ${RUNS} fresh Node ${execFileSync(NODE, ['-v'], { encoding: 'utf8' }).trim()} processes per handler; AWS SDK from node_modules, as the Lambda runtime provides it\n`);
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs: wall times stretch with it, CPU time much less`);
  console.log('handler    bundle    +parsers  native  require() wall median/best  require() CPU median  parser ready wall median/best  targets (bundle < 3 MB, require CPU < 300 ms)');
  let failed = false;
  const outdir = join(BUNDLE_ROOT, `bench-${process.pid}`);
  try {
    for (const name of HANDLER_NAMES) {
      const bundle = await bundleHandler(name, join(outdir, name));
      const bytes = statSync(bundle.file).size;
      const native = Object.keys(bundle.metafile.inputs).filter((input) => input.endsWith('.node'));
      const samples = Array.from({ length: RUNS }, () => loadTimes(bundle.file, PARSER[name]));
      const load = samples.map((s) => s.loadMs);
      const cpu = samples.map((s) => s.loadCpuMs);
      const ready = samples.map((s) => s.readyMs);
      const ok = bytes < 3 * MB && median(cpu) < 300;
      failed ||= !ok;
      console.log(
        `${name.padEnd(10)} ${(bytes / MB).toFixed(2).padStart(5)} MB ${((bytes + shipped) / MB).toFixed(2).padStart(6)} MB  ${native.length === 0 ? 'none' : native.join(',')}    ${median(load).toFixed(0).padStart(5)} / ${Math.min(...load).toFixed(0).padStart(3)} ms             ${median(cpu).toFixed(0).padStart(4)} ms            ${median(ready).toFixed(0).padStart(5)} / ${Math.min(...ready).toFixed(0).padStart(3)} ms            ${ok ? 'met' : 'MISSED'}`,
      );
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
  console.log(`\nbundle = index.js as Lambda loads it (source map not counted); +parsers = with the parser packages the stack copies into node_modules.`);
  if (failed) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 2;
});
