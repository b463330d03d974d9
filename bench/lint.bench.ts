/**
 * npm run bench:lint [-- --count 1000 --runs 5]
 *
 * 1. Generates a 1,000-migration Prisma history (test/helpers/history.ts) and times the linter on it:
 *    in process (parser loaded), and as a whole CLI process (esbuild bundle, and through tsx).
 * 2. Times one pending migration as a CLI process: a single file, and `--since` over the whole history.
 * 3. Runs Squawk (squawk-cli) over the same files and prints its times.
 * 4. Runs both tools over the labelled cases (test/fixtures/lint/labelled-cases.ts) and prints their
 *    agreement with the expected verdicts.
 * Prints numbers; asserts nothing (the targets are judged by a person reading them).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { lint, lintMigrations, loadLinter, type Verdict } from '../lambdas/core/lint';
import { BASE_HISTORY, CASES, type LabelledCase } from '../test/fixtures/lint/labelled-cases';
import { HELDOUT, HELDOUT_HISTORY } from '../test/fixtures/lint/heldout-cases';
import { generateHistory, writeHistory } from '../test/helpers/history';

const { values } = parseArgs({ options: { count: { type: 'string', default: '1000' }, runs: { type: 'string', default: '5' } } });
const COUNT = Number(values.count);
const RUNS = Number(values.runs);
const ROOT = resolve(__dirname, '..');
const WORK = join(ROOT, '.bench', 'lint');
const SQUAWK = join(ROOT, 'node_modules', '.bin', 'squawk');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const TIME = '/usr/bin/time';
const HAS_TIME = existsSync(TIME);

/**
 * Wall time (ms) of a command, median and min of RUNS runs (after one warm-up run), the median CPU
 * time (user + sys, via /usr/bin/time when present: steadier than wall time on a busy machine),
 * and the exit status of the last run.
 */
function timeProcess(cmd: string, args: string[]): { median: number; min: number; cpu?: number; status: number | null; stdout: string } {
  const times: number[] = [];
  const cpu: number[] = [];
  const cpuFile = join(WORK, 'cpu.txt');
  const run = () =>
    HAS_TIME
      ? spawnSync(TIME, ['-o', cpuFile, '-f', '%U %S', cmd, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
      : spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  let last = run();
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    last = run();
    times.push(performance.now() - started);
    if (HAS_TIME) {
      const [user, sys] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
      cpu.push((user + sys) * 1000);
    }
  }
  return { median: median(times), min: Math.min(...times), cpu: cpu.length ? median(cpu) : undefined, status: last.status, stdout: last.stdout };
}

const ms = (n: number) => `${n.toFixed(0).padStart(6)} ms`;
function row(label: string, r: { median: number; min: number; cpu?: number; status: number | null }, note = ''): void {
  const cpu = r.cpu === undefined ? '' : `   cpu ${ms(r.cpu)}`;
  console.log(`  ${label.padEnd(46)}${ms(r.median)} / ${ms(r.min)}${cpu}   exit ${r.status}${note}`);
}

async function main(): Promise<void> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const historyDir = join(WORK, 'history');
  const history = generateHistory(COUNT);
  await writeHistory(historyDir, history);
  const files = history.map((m) => join(historyDir, m.name, 'migration.sql'));
  const last = history[history.length - 1];
  const lastFile = files[files.length - 1];

  // A bundle of just the lint command: what a CI job or the preflight Lambda would ship.
  const entry = join(WORK, 'lint-entry.ts');
  writeFileSync(
    entry,
    `import { lintCommand } from '../../bin/commands/lint';\n` +
      `lintCommand.run(process.argv.slice(2), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env, isTty: false })` +
      `.then((c) => { process.exitCode = c; }, (e) => { process.stderr.write(String(e) + '\\n'); process.exitCode = 2; });\n`,
  );
  const bundle = join(WORK, 'lint-cli.cjs');
  // One parser build in the bundle: splitSql's default PG 17 import resolves to the PG 18 build the
  // linter uses anyway, so only one WebAssembly module is compiled at start-up.
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: bundle,
    alias: { 'libpg-query': 'libpg-query-18' },
    external: ['libpg-query-18'],
    logLevel: 'error',
  });

  console.log(`migration-runner lint benchmark: ${COUNT} generated migrations, ${RUNS} runs each`);
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (wall times grow with load; cpu = user + sys of the process)\n`);

  // In process: the parser is loaded once, then the whole history is linted.
  await loadLinter();
  const inputs = history.map((m, i) => ({ name: m.name, file: files[i], sql: m.sql }));
  const inProcess: number[] = [];
  let verdicts: Record<string, number> = {};
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const report = lintMigrations(inputs, {});
    inProcess.push(performance.now() - t);
    verdicts = report.migrations.reduce<Record<string, number>>((acc, m) => ({ ...acc, [m.verdict]: (acc[m.verdict] ?? 0) + 1 }), {});
  }
  console.log('In process (median / min)');
  console.log(`  lint ${COUNT} migrations (parse + replay + rules)  ${ms(median(inProcess))} / ${ms(Math.min(...inProcess))}   verdicts ${JSON.stringify(verdicts)}`);

  console.log('\nWhole process, wall median / min (targets: whole history < 1500 ms, one migration < 300 ms)');
  row('node start (baseline: node -e "")', timeProcess(process.execPath, ['-e', '']));
  row('node start + parser WASM load (baseline)', timeProcess(process.execPath, ['-e', "require('libpg-query-18').loadModule()"]));
  row('ours, bundled CLI, whole history (json)', timeProcess(process.execPath, [bundle, historyDir, '--format', 'json']));
  row('ours, tsx CLI, whole history (json)', timeProcess(TSX, ['bin/cli.ts', 'lint', historyDir, '--format', 'json']));
  row('ours, bundled CLI, one migration file', timeProcess(process.execPath, [bundle, lastFile]));
  row('ours, tsx CLI, one migration file', timeProcess(TSX, ['bin/cli.ts', 'lint', lastFile]));
  row(`ours, bundled CLI, --since (${COUNT - 1} replayed + 1)`, timeProcess(process.execPath, [bundle, historyDir, '--since', history[history.length - 2].name]), `   (${last.name})`);
  row(`squawk ${squawkVersion()}, whole history`, timeProcess(SQUAWK, ['--reporter', 'json', ...files]));
  row('squawk, one migration file', timeProcess(SQUAWK, ['--reporter', 'json', lastFile]));

  await accuracy('Labelled cases (written with the rules, from lint-rules.md)', 'labelled', CASES, BASE_HISTORY);
  await accuracy('Held-out cases (strong_migrations / Squawk doc examples, labelled before running)', 'heldout', HELDOUT, HELDOUT_HISTORY);
}

function squawkVersion(): string {
  return spawnSync(SQUAWK, ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/^squawk\s*/, '');
}

/** Squawk has no severities (every violation is a warning): its hygiene rules count as careful, the rest as dangerous. */
const SQUAWK_CAREFUL = new Set([
  'prefer-robust-stmts',
  'prefer-bigint-over-int',
  'prefer-bigint-over-smallint',
  'prefer-identity',
  'prefer-text-field',
  'prefer-timestamptz',
  'ban-char-field',
  'require-lock-timeout',
  'require-statement-timeout',
  'require-timeout-settings',
  'require-enum-value-ordering',
  'ban-drop-column',
  'ban-drop-not-null',
  'transaction-nesting',
  'ban-uncommitted-transaction',
  'ban-create-domain-with-constraint',
  'require-concurrent-index-deletion',
  'require-concurrent-partition-detach',
  'identifier-too-long',
  'require-table-schema',
  'ban-duplicate-column-assignments',
]);
const RANK: Record<Verdict, number> = { safe: 0, careful: 1, dangerous: 2, error: 3 };

function pgText(pg: number | undefined): string {
  const v = pg ?? 16;
  return v < 100 ? `${v}.0` : `${Math.floor(v / 10000)}.${v % 100}`;
}

async function accuracy(title: string, dirName: string, CASES: readonly LabelledCase[], baseHistory: string): Promise<void> {
  const dir = join(WORK, dirName);
  mkdirSync(dir, { recursive: true });
  const ours: Verdict[] = [];
  const squawk: Verdict[] = [];
  const caseFiles = CASES.map((c) => {
    const file = join(dir, `${c.id}.sql`);
    writeFileSync(file, c.sql);
    return file;
  });
  // Squawk, configured like ours: the runner sets lock_timeout/statement_timeout unless the case says otherwise.
  const groups = new Map<string, number[]>();
  CASES.forEach((c, i) => {
    const key = `${pgText(c.pg)}|${c.timeouts ?? 'runner'}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const squawkFindings = new Map<string, string[]>();
  for (const [key, indexes] of groups) {
    const [pg, timeouts] = key.split('|');
    const exclude = timeouts === 'runner' ? ['--exclude=require-lock-timeout,require-statement-timeout,require-timeout-settings'] : [];
    const run = spawnSync(SQUAWK, ['--reporter', 'json', `--pg-version=${pg}`, ...exclude, ...indexes.map((i) => caseFiles[i])], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const violations = JSON.parse(run.stdout || '[]') as { file: string; rule_name: string }[];
    for (const v of violations) squawkFindings.set(v.file, [...(squawkFindings.get(v.file) ?? []), v.rule_name]);
  }
  for (const [i, c] of CASES.entries()) {
    ours.push(await oursVerdict(c, baseHistory));
    const rules = squawkFindings.get(caseFiles[i]) ?? [];
    squawk.push(rules.reduce<Verdict>((v, r) => {
      const s: Verdict = r === 'syntax-error' ? 'error' : SQUAWK_CAREFUL.has(r) ? 'careful' : 'dangerous';
      return RANK[s] > RANK[v] ? s : v;
    }, 'safe'));
  }
  const score = (got: Verdict[]) => {
    let exact = 0;
    let binary = 0;
    let falseAlarms = 0;
    let missed = 0;
    CASES.forEach((c, i) => {
      if (got[i] === c.expected) exact++;
      const gotDangerous = got[i] === 'dangerous' || got[i] === 'error';
      const isDangerous = c.expected === 'dangerous';
      if (gotDangerous === isDangerous) binary++;
      if (gotDangerous && !isDangerous) falseAlarms++;
      if (!gotDangerous && isDangerous) missed++;
    });
    return { exact, binary, falseAlarms, missed };
  };
  const a = score(ours);
  const b = score(squawk);
  const n = CASES.length;
  const pct = (x: number) => `${((100 * x) / n).toFixed(1).padStart(5)}%`;
  console.log(`\n${title}: ${n} cases`);
  console.log('                              exact verdict   dangerous-or-not   false alarms   missed dangerous');
  console.log(`  migration-runner lint       ${pct(a.exact)} ${String(a.exact).padStart(4)}   ${pct(a.binary)} ${String(a.binary).padStart(4)}       ${String(a.falseAlarms).padStart(4)}          ${String(a.missed).padStart(4)}`);
  console.log(`  squawk                      ${pct(b.exact)} ${String(b.exact).padStart(4)}   ${pct(b.binary)} ${String(b.binary).padStart(4)}       ${String(b.falseAlarms).padStart(4)}          ${String(b.missed).padStart(4)}`);
  const byGroup = new Map<string, { n: number; ours: number; squawk: number }>();
  CASES.forEach((c, i) => {
    const g = byGroup.get(c.group) ?? { n: 0, ours: 0, squawk: 0 };
    g.n++;
    if (ours[i] === c.expected) g.ours++;
    if (squawk[i] === c.expected) g.squawk++;
    byGroup.set(c.group, g);
  });
  console.log('  exact verdict by group:   ' + [...byGroup].map(([g, s]) => `${g} ${s.ours}/${s.squawk}/${s.n}`).join(', ') + '  (ours/squawk/cases)');
  const squawkWrong = CASES.filter((c, i) => squawk[i] !== c.expected).slice(0, 12).map((c) => `${c.id} (expected ${c.expected}, squawk ${squawk[CASES.indexOf(c)]})`);
  console.log(`  e.g. squawk disagrees on: ${squawkWrong.join('; ')}`);
  const oursWrong = CASES.filter((c, i) => ours[i] !== c.expected).map((c) => c.id);
  console.log(`  ours disagrees on: ${oursWrong.length ? oursWrong.join(', ') : 'none'}`);
  console.log('  (Squawk has no schema history or live catalog: it sees only the case file, as it would in CI.)');
}

async function oursVerdict(c: LabelledCase, baseHistory: string): Promise<Verdict> {
  const texts = [baseHistory, ...(c.history ?? []), c.sql];
  const migrations = texts.map((sql, i) => ({ name: `${String(i).padStart(3, '0')}_m`, file: `${c.id}.sql`, sql }));
  const report = await lint(migrations, { pgVersion: c.pg, since: migrations[texts.length - 2].name, timeouts: c.timeouts, catalog: c.catalog ? { tables: c.catalog } : undefined });
  return report.migrations[0].verdict;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
