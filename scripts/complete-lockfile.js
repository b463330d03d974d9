#!/usr/bin/env node
/**
 * Adds lock entries for optional platform packages that npm could not record.
 *
 * Why: on our machines the npm registry answers 404 for other platforms' builds of some packages
 * (squawk-cli's darwin/win32 binaries, @unrs/resolver-binding-* used by jest), so `npm install`
 * leaves them out of package-lock.json and `npm ci` then refuses the lock as out of sync
 * ("Missing: @squawk-cli/darwin-arm64@ from lock file"). The entries added here carry the os/cpu/libc
 * that the package name states, so `npm ci` skips them on other platforms without fetching anything.
 *
 * Run after any `npm install` that changes the lock: `node scripts/complete-lockfile.js`.
 */
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const packages = lock.packages;

const OS = ['darwin', 'linux', 'win32', 'freebsd', 'android', 'openbsd', 'netbsd', 'sunos', 'aix', 'openharmony'];
const CPU = ['x64', 'arm64', 'arm', 'ia32', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el', 'wasm32'];

/** os/cpu/libc from a name such as @unrs/resolver-binding-linux-riscv64-musl. */
function platformOf(name) {
  const tokens = name.split('/').pop().split('-');
  const os = tokens.find((t) => OS.includes(t));
  const cpu = tokens.find((t) => CPU.includes(t));
  const result = {};
  if (os) result.os = [os];
  if (cpu) result.cpu = [cpu];
  if (tokens.some((t) => t.startsWith('musl'))) result.libc = ['musl'];
  else if (os === 'linux' && tokens.some((t) => t.startsWith('gnu'))) result.libc = ['glibc'];
  return result;
}

let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  for (const [dep, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    // npm looks a dependency up beside the package, then in each parent node_modules.
    const candidates = [];
    let base = location;
    for (;;) {
      candidates.push(`${base ? `${base}/` : ''}node_modules/${dep}`);
      if (!base) break;
      const index = base.lastIndexOf('node_modules/');
      base = index <= 0 ? '' : base.slice(0, index - 1);
    }
    if (candidates.some((c) => packages[c])) continue;
    const platform = platformOf(dep);
    if (!platform.os && !platform.cpu) continue; // not a platform build: leave it to npm
    const target = `node_modules/${dep}`;
    packages[target] = {
      version: String(spec).replace(/^[\^~=]/, ''),
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...platform,
    };
    added++;
  }
}

const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
lock.packages = sorted;
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: ${added} optional platform entr${added === 1 ? 'y' : 'ies'} added`);
