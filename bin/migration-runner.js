#!/usr/bin/env node
/**
 * `npx migration-runner ...`. Runs bin/cli.ts without a build step: the TypeScript sources are
 * bundled once with esbuild into node_modules/.cache (dependencies stay external) and the bundle is
 * reused until a source file changes, so start-up costs a directory walk, not a TypeScript compile
 * (about 0.5 s of CPU through tsx). If bundling is impossible, it falls back to tsx.
 */
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const root = path.join(__dirname, '..');
const SOURCES = ['bin', 'lambdas', 'local', 'state-machines'];

function fingerprint() {
  const hash = crypto.createHash('sha1');
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) hash.update(`${full}:${fs.statSync(full).mtimeMs}\n`);
    }
  };
  for (const dir of SOURCES) if (fs.existsSync(path.join(root, dir))) walk(path.join(root, dir));
  return hash.digest('hex').slice(0, 16);
}

/** Path of the bundled CLI for the current sources, building it when they changed. */
async function bundledCli() {
  const cacheDir = path.join(root, 'node_modules', '.cache', 'migration-runner-cli');
  const outfile = path.join(cacheDir, `cli-${fingerprint()}.js`);
  if (fs.existsSync(outfile)) return outfile;
  const esbuild = require('esbuild');
  // Each module keeps its own __dirname (code finds the ASL, examples and handlers relative to itself).
  const keepDirname = {
    name: 'keep-dirname',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => ({
        contents: fs.readFileSync(args.path, 'utf8').replace(/\b__dirname\b/g, JSON.stringify(path.dirname(args.path))),
        loader: 'ts',
      }));
    },
  };
  fs.mkdirSync(cacheDir, { recursive: true });
  // Built under a private name and renamed, so concurrent first runs never read a partial file.
  const tmp = `${outfile}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [path.join(root, 'bin', 'cli.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    plugins: [keepDirname],
    logLevel: 'silent',
  });
  fs.renameSync(tmp, outfile);
  for (const old of fs.readdirSync(cacheDir)) {
    if (old.endsWith('.js') && path.join(cacheDir, old) !== outfile) fs.rmSync(path.join(cacheDir, old), { force: true });
  }
  return outfile;
}

async function main() {
  let target;
  try {
    target = await bundledCli();
  } catch {
    require('tsx/cjs');
    target = path.join(__dirname, 'cli.ts');
  }
  require(target).runCli();
}

main();
