/**
 * The layering rules (docs/architecture.md), read from the source files themselves: core imports no
 * pg / AWS SDK / middy / Powertools and nothing above it; one module talks to the SQL parser; no
 * process.env writes and no AWS SDK mocking outside test/; handlers stay thin; a source file over
 * 400 lines says at its top why.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SOURCE_DIRS = ['lambdas', 'lib', 'bin', 'local', 'scripts', 'bench', 'state-machines'];

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(join(ROOT, path)).isDirectory()) return filesUnder(path);
    return /\.(ts|js)$/.test(entry) ? [path] : [];
  });
}
const sources = SOURCE_DIRS.flatMap(filesUnder);
const text = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const lineCount = (file: string) => text(file).split('\n').length - (text(file).endsWith('\n') ? 1 : 0);
/** Every module a file imports or requires. */
const importsOf = (file: string) => [...text(file).matchAll(/(?:from\s+|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);

/** Over 400 lines and waiting for a split another change makes (remove the entry with it). */
const PENDING_SPLIT = { 'lambdas/core/backfill/engine.ts': 'issue 18: class Run into lease, partitioning and a pure phase machine' };

describe('layers', () => {
  it('core imports no pg, AWS SDK, middy or Powertools, and nothing outside core', () => {
    const offenders = sources
      .filter((file) => file.startsWith('lambdas/core/'))
      .flatMap((file) => importsOf(file).map((spec) => [file, spec]))
      .filter(([, spec]) => /^(pg|@aws-sdk\/|@middy\/|@aws-lambda-powertools\/)/.test(spec) || /\.\.\/(?:\.\.\/)*(?:handlers|adapters)\b/.test(spec) || /^\.\.\/\.\.\/\.\./.test(spec));
    expect(offenders).toEqual([]);
  });

  it('only lambdas/core/sql/parser.ts loads libpg-query (bench/ times the bare package on purpose)', () => {
    const users = sources.filter((file) => !file.startsWith('bench/') && importsOf(file).some((spec) => spec.startsWith('libpg-query')));
    expect(users).toEqual(['lambdas/core/sql/parser.ts']);
  });

  it('nothing outside test/ writes process.env or imports aws-sdk-client-mock', () => {
    const writes = sources.filter((file) => /process\.env(\.\w+|\[[^\]]+\])\s*=(?!=)|Object\.assign\(process\.env|delete process\.env/.test(text(file)));
    const mocks = sources.filter((file) => importsOf(file).includes('aws-sdk-client-mock'));
    expect({ writes, mocks }).toEqual({ writes: [], mocks: [] });
  });

  it('handler factories and Lambda entries stay thin (the apply handler under 60 lines)', () => {
    const handlers = sources.filter((file) => /^lambdas\/handlers\/(factories\/)?(preflight|apply|backfill|verify)\.ts$/.test(file));
    expect(handlers.length).toBe(8);
    expect(handlers.filter((file) => lineCount(file) >= 60)).toEqual([]);
  });

  it('a source file over 400 lines says at its top why', () => {
    const long = sources.filter((file) => lineCount(file) > 400 && !(file in PENDING_SPLIT));
    const unexplained = long.filter((file) => !/^\/\*\*[\s\S]*?over 400 lines[\s\S]*?\*\//.test(text(file)));
    expect(unexplained).toEqual([]);
  });

  it.each(Object.entries(PENDING_SPLIT))('%s is still waiting for its split (%s): drop it from PENDING_SPLIT once split', (file) => {
    expect(lineCount(file)).toBeGreaterThan(400);
  });
});

it('lists source files relative to the repository', () => {
  expect(sources).toContain('lambdas/core/settings/table.ts');
  expect(sources.every((file) => !relative(ROOT, join(ROOT, file)).startsWith('..'))).toBe(true);
});
