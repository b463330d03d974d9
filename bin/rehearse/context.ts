/**
 * What a rehearsal scenario works with: the executor (the real ASL and handlers), the working
 * migrations folder it grows step by step, short-lived queries for checks, and the recording of
 * every expectation as expected-vs-actual, so the report and the exit code come from the same data.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { connect } from '../../lambdas/adapters/pg';
import { loadMigrations } from '../../lambdas/adapters/fs-source';
import { lint } from '../../lambdas/core/lint';
import { readCatalogFacts } from '../../lambdas/core/preflight/catalog';
import type { LocalExecutionResult, LocalExecutor } from '../../local/executor';
import type { DatabaseMonitor } from './monitor';
import { formatMs, type ExecutionTrace, type TracePrinter, type Write } from './trace';

/** Appended to a migration to break a scenario on purpose (tests: the report must name the state). */
export const BREAKING_STATEMENT = 'ALTER TABLE "rehearsal_broken_on_purpose" ADD COLUMN "x" INTEGER;\n';

export interface Check {
  readonly name: string;
  readonly expected: string;
  readonly actual: string;
  readonly ok: boolean;
  /** The state machine state this check is about (named in the report when it fails). */
  readonly state?: string;
}

export interface ExecutionRecord {
  readonly name: string;
  /**
   * When the execution was started (ISO): the "pre-migration time" an operator notes down. A
   * restore to it yields the state before this execution changed anything.
   */
  readonly startedAt: string;
  readonly input: unknown;
  readonly result: LocalExecutionResult;
  readonly trace: ExecutionTrace;
  readonly ms: number;
}

export interface Expected {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly error?: string;
  /** States that must have run (in this order). */
  readonly states?: readonly string[];
  /** States that must not have run. */
  readonly notStates?: readonly string[];
}

export class ScenarioContext {
  readonly checks: Check[] = [];
  readonly executions: ExecutionRecord[] = [];
  /** Notes printed under the scenario in the report (measured numbers). */
  readonly notes: string[] = [];
  rowsTouched = 0;

  constructor(
    readonly id: string,
    private readonly shared: SharedContext,
  ) {}

  get rows(): number {
    return this.shared.rows;
  }

  get executor(): LocalExecutor {
    return this.shared.executor;
  }

  get database(): string {
    return this.shared.database;
  }

  get identifier(): string {
    return this.shared.identifier;
  }

  write(text: string): void {
    this.shared.write(text);
  }

  /** Copies migration folders from the source into the working folder (the next deploy's pending set). */
  addMigrations(names: readonly string[]): void {
    for (const name of names) {
      const from = path.join(this.shared.sourceDir, name);
      const to = path.join(this.shared.workDir, name);
      mkdirSync(to, { recursive: true });
      for (const file of readdirSync(from)) copyFileSync(path.join(from, file), path.join(to, file));
    }
    if (this.shared.breakScenario === this.id && names.length > 0) {
      const file = path.join(this.shared.workDir, names[names.length - 1], 'migration.sql');
      writeFileSync(file, `${readFileSync(file, 'utf8')}\n-- injected by MIGRATION_RUNNER_REHEARSE_BREAK=${this.id}\n${BREAKING_STATEMENT}`);
      this.write(`  ! scenario broken on purpose: ${names[names.length - 1]} gets a statement on a table that does not exist\n`);
    }
  }

  /** Prints each migration's lint verdict with the locks its statements take (same linter and catalog facts as preflight). */
  async printLint(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const migrations = await loadMigrations(this.shared.workDir);
    const db = await connect(this.shared.databaseUrl, { applicationName: 'migration-runner:rehearse-lint' });
    let report;
    try {
      const tables = await readCatalogFacts(db);
      const { rows } = await db.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
      const first = migrations.findIndex((m) => names.includes(m.name));
      report = await lint(
        migrations.map((m) => ({ name: m.name, file: m.file, sql: m.sql })),
        { pgVersion: Number(rows[0].v), catalog: { tables }, ...(first > 0 ? { since: migrations[first - 1].name } : {}) },
      );
    } finally {
      await db.close();
    }
    for (const migration of report.migrations.filter((m) => names.includes(m.name))) {
      this.write(`  lint ${migration.name}: ${migration.verdict}\n`);
      const findings = migration.findings.filter((f) => !f.suppressed);
      for (const f of findings) this.write(`    ${f.severity.padEnd(9)} ${f.rule} (line ${f.line}): lock ${f.lock}${f.rewrites !== 'none' ? `, ${f.rewrites}s the table` : ''}\n`);
      if (findings.length === 0) this.write('    no findings: no statement takes a lock that blocks traffic for long\n');
    }
    return report.migrations.filter((m) => names.includes(m.name) && m.verdict === 'dangerous').map((m) => m.name);
  }

  /** Runs one execution of the state machine and records whether it ended as expected. */
  async execute(label: string, input: Record<string, unknown>, expected: Expected): Promise<ExecutionRecord> {
    const name = `rehearse-${++this.shared.executionCount}-${label}`.slice(0, 80);
    this.write(`  ▶ execution ${name} ${JSON.stringify(input)}\n`);
    const trace = this.shared.printer.begin();
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    const result = await this.shared.executor.run(input, name);
    this.shared.printer.end();
    const ms = Date.now() - started;
    const ended = result.status === 'SUCCEEDED' ? 'SUCCEEDED' : `FAILED ${result.error}: ${clip(result.cause ?? '', 240)}`;
    this.write(`  ◀ ${ended} in ${formatMs(ms)}\n`);
    await this.shared.nameRelations();
    const record: ExecutionRecord = { name, startedAt, input, result, trace, ms };
    this.executions.push(record);

    const failedAt = trace.failedState?.name ?? result.states.at(-1);
    const actual = result.status === 'SUCCEEDED' ? 'SUCCEEDED' : `FAILED ${result.error} at ${failedAt}`;
    const statusOk = result.status === expected.status && (expected.error === undefined || result.error === expected.error);
    this.record({
      name: `execution ${label}`,
      expected: `${expected.status}${expected.error ? ` ${expected.error}` : ''}`,
      actual,
      ok: statusOk,
      state: result.status === 'FAILED' ? failedAt : result.states.at(-1),
    });
    if (expected.states) {
      // A subsequence: each expected state after the previous one (a state may run several times).
      let at = 0;
      for (const state of expected.states) {
        const found = result.states.indexOf(state, at);
        at = found < 0 ? Number.POSITIVE_INFINITY : found + 1;
      }
      const inOrder = at !== Number.POSITIVE_INFINITY;
      const missing = expected.states.filter((s) => !result.states.includes(s));
      this.record({ name: `${label}: states in order`, expected: expected.states.join(' → '), actual: inOrder ? 'in order' : missing.length ? `missing ${missing.join(', ')}` : 'out of order', ok: inOrder, state: missing[0] ?? expected.states[0] });
    }
    for (const state of expected.notStates ?? []) {
      const ran = result.states.includes(state);
      this.record({ name: `${label}: ${state} did not run`, expected: 'not run', actual: ran ? 'ran' : 'not run', ok: !ran, state });
    }
    return record;
  }

  /** Records a check on the database after an execution. */
  expectEqual(name: string, expected: unknown, actual: unknown, state?: string): boolean {
    const e = JSON.stringify(expected);
    const a = JSON.stringify(actual);
    return this.record({ name, expected: e, actual: a, ok: e === a, state });
  }

  record(check: Check): boolean {
    this.checks.push(check);
    this.write(`    ${check.ok ? '✓' : '✗'} ${check.name}: ${check.ok ? check.actual : `expected ${check.expected}, got ${check.actual}`}\n`);
    return check.ok;
  }

  /** A short-lived query (never left open: the simulated snapshots need the database free). */
  async query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: unknown[] = [], database?: string): Promise<R[]> {
    return this.shared.query<R>(sql, params, database);
  }
}

export interface SharedContext {
  readonly rows: number;
  readonly executor: LocalExecutor;
  readonly database: string;
  /** RDS identifier the simulation answers for; restore targets start with the executor's restorePrefix. */
  readonly identifier: string;
  readonly databaseUrl: string;
  readonly sourceDir: string;
  readonly workDir: string;
  readonly breakScenario?: string;
  readonly printer: TracePrinter;
  readonly monitor: DatabaseMonitor;
  readonly write: Write;
  executionCount: number;
  query<R extends Record<string, unknown>>(sql: string, params: unknown[], database?: string): Promise<R[]>;
  nameRelations(): Promise<void>;
}

export function urlForDatabase(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function shortQuery<R extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new Client({ connectionString: url, application_name: 'migration-runner:rehearse' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export function listMigrationFolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort();
}

function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
