/**
 * Prisma's own schema engine as a compatibility oracle: the real `migrate status`, `migrate deploy`,
 * `migrate resolve` and `migrate diff` logic (npm @prisma/schema-engine-wasm, Prisma's Rust schema
 * engine compiled to WebAssembly, through @prisma/adapter-pg), run against a database of the test
 * server, so tests can check that what we write is what Prisma reads.
 *
 * API (one oracle per test file; each method names the database by URL and the migrations folder):
 *   const oracle = await PrismaOracle.start();           // beforeAll; `await oracle.close()` in afterAll
 *   await oracle.diagnose(url, dir)                       // diagnoseMigrationHistory: the engine's raw answer
 *   await oracle.verdict(url, dir)                        // the same as a StatusVerdict (compare with ourVerdict)
 *   await oracle.applyMigrations(url, dir)                // `prisma migrate deploy`: names applied; rejects with EngineError
 *   await oracle.markMigrationRolledBack(url, name)       // `prisma migrate resolve --rolled-back`
 *   await oracle.markMigrationApplied(url, dir, name)     // `prisma migrate resolve --applied`
 *   await oracle.diff(url, dir, { externalTables })       // `prisma migrate diff --from-migrations --to-url --exit-code`
 *   ourVerdict(report)                                    // our StatusReport (status --json) as a StatusVerdict
 *   prismaStatusExitCode(output)                          // the exit code `prisma migrate status` derives from diagnose
 *   await migrationRows(client)                           // _prisma_migrations rows, comparable across databases
 *   await migrationsTableShape(client)                    // the table's columns, types, defaults and key
 *
 * For other tests: recovery (rows of interrupted or resumed migrations read by Prisma as we report
 * them) is `expect(ourVerdict(report)).toEqual(await oracle.verdict(url, dir))` plus `migrationRows`
 * of our database against one the engine wrote; drift is `oracle.diff(url, dir, { externalTables:
 * ['public._migration_runner_backfills'] })` (our bookkeeping table, which Prisma would report).
 * EngineError.code is Prisma's error code (P3008, P3009, P3011, P3012 seen in our tests); a
 * migration that fails to apply comes back as the database error without a code (the native CLI
 * reports P3018).
 *
 * Why a child process: jest runs our tests as CommonJS inside vm contexts, and the engine is an ES
 * module whose entry imports a .wasm file; loading it in jest would need --experimental-vm-modules
 * for the whole run (and, on Node 20, --experimental-wasm-modules; Node 24 needs no flag). The worker
 * (prisma-oracle-worker.mjs) is plain ESM run by the same Node binary as the test, instantiates the
 * wasm from the package's JS glue itself (no flag needed, same on Node 20 and 24), and keeps the engine's
 * pg pools, a panicking engine and its stderr away from the test process. Start-up is about 0.3 s
 * (wasm compile included), so a test file starts one and reuses it. Each call then runs on a new
 * SchemaEngine that is freed, its connections closed, when the call ends, as each Prisma CLI command
 * runs in a process of its own (which also releases the advisory lock the engine never unlocks).
 *
 * What the oracle cannot see: how Prisma's native binary executes a migration file (one simple-query
 * message up to 7.3, one implicit transaction). Through the adapter, the engine runs a file statement
 * by statement in autocommit, so after a failed file the schema may differ from ours; compare rows and
 * verdicts, not a failed file's partial schema. The per-file baseline (test/helpers/history.ts,
 * applyOneCallPerFile) covers file execution.
 *
 * Adapter pitfalls worked around in the worker (for @prisma/adapter-pg 7.10.1, pinned): its
 * executeScript splits on every ';' (a ';' in a comment breaks the runbook examples), so statements
 * are split by the PostgreSQL parser; it cannot read "char" catalog columns, which diff needs; its
 * shadow database ignores `database` when given a connectionString and is dropped while still
 * connected, so the worker creates and drops its own (prisma_oracle_shadow_*, dropped here if the
 * worker dies); the engine never releases its advisory lock, so each call closes its connections.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from 'pg';
import type { DiagnoseMigrationHistoryOutput, DiffResult } from '@prisma/schema-engine-wasm';
import type { StatusReport } from '../../lambdas/core/migrations';
import { withAdmin } from './database';

/** A status verdict, in terms both sides can be put in. */
export interface StatusVerdict {
  /** The database has a `_prisma_migrations` table. */
  readonly managed: boolean;
  /** Local migrations not applied, in order. */
  readonly pending: readonly string[];
  /** Migrations applied in the database that are missing locally. */
  readonly databaseOnly: readonly string[];
  /** The last migration both sides share, when the histories diverge (pending and database-only); null otherwise. */
  readonly lastCommon: string | null;
  readonly failed: readonly string[];
  /** Applied migrations whose local file no longer matches the recorded checksum. */
  readonly edited: readonly string[];
}

/** An error the engine returned (a user-facing Prisma error carries its code, e.g. P3009). */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    message: string,
    readonly code: string | null,
    /** The engine's last log lines (JSON), for a failing test's output. */
    readonly logs: readonly string[],
  ) {
    super(message);
  }
}

export interface DiffOptions {
  /** Tables Prisma is told to ignore (prisma.config.ts `tables.external`), schema-qualified: 'public.t'. */
  readonly externalTables?: readonly string[];
  /** Ask for the SQL script instead of the human-readable summary. */
  readonly script?: boolean;
}

export interface EngineDiff {
  /** True when the database matches the schema the migrations produce. */
  readonly empty: boolean;
  /** The engine's summary ("No difference detected.", "[+] Added tables ...") or script. */
  readonly text: string;
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type WorkerMessage =
  | { id: number; result: unknown }
  | { id: number; error: { name: string; code: string | null; message: string; logs: string[] } }
  | { event: 'ready'; version: string }
  | { event: 'shadow'; database: string; state: 'created' | 'dropped' }
  | { event: 'fatal'; message: string };

const WORKER = join(__dirname, 'prisma-oracle-worker.mjs');

export class PrismaOracle {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly shadows = new Set<string>();
  private dead: Error | undefined;

  private constructor(
    private readonly child: ChildProcess,
    /** The engine build (prisma-engines commit), as the engine reports it. */
    readonly version: string,
  ) {
    child.on('message', (message: WorkerMessage) => this.onMessage(message));
    child.on('exit', (code, signal) => this.fail(this.dead ?? new Error(`the schema engine process exited (${signal ?? `code ${code}`})`)));
    child.on('disconnect', () => this.fail(this.dead ?? new Error('the schema engine process closed its channel')));
    this.idle();
  }

  /** Starts the engine process (about 0.3 s). */
  static async start(): Promise<PrismaOracle> {
    // The test's Node binary, without the jest worker's flags. Liftoff only (V8's baseline wasm
    // compiler): the engine waits on the database most of the time, and optimising tier-up spends CPU
    // on this shared machine and holds the process's exit for seconds while background jobs drain.
    const child = fork(WORKER, [], { execArgv: ['--liftoff-only'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const version = await new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the schema engine process exited with code ${code} before it was ready: ${stderr}`)));
      child.once('message', (message: WorkerMessage) =>
        'event' in message && message.event === 'ready' ? resolve(message.version) : reject(new Error(`unexpected first message ${JSON.stringify(message)}`)),
      );
    });
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    return new PrismaOracle(child, version);
  }

  /** `diagnoseMigrationHistory` as `prisma migrate status` calls it (no shadow database). */
  diagnose(url: string, dir: string): Promise<DiagnoseMigrationHistoryOutput> {
    return this.call('diagnose', { url, dir }) as Promise<DiagnoseMigrationHistoryOutput>;
  }

  async verdict(url: string, dir: string): Promise<StatusVerdict> {
    return engineVerdict(await this.diagnose(url, dir));
  }

  /** `prisma migrate deploy`: the names it applied. Rejects with EngineError (P3009, P3005, a failed migration...). */
  async applyMigrations(url: string, dir: string): Promise<string[]> {
    const output = (await this.call('applyMigrations', { url, dir })) as { appliedMigrationNames: string[] };
    return output.appliedMigrationNames;
  }

  async markMigrationRolledBack(url: string, name: string): Promise<void> {
    await this.call('markMigrationRolledBack', { url, name });
  }

  async markMigrationApplied(url: string, dir: string, name: string): Promise<void> {
    await this.call('markMigrationApplied', { url, dir, name });
  }

  /**
   * The difference from the schema the migrations produce (applied by the engine to a shadow
   * database) to the database at `url`. Reads the database's catalog; writes nothing there.
   */
  async diff(url: string, dir: string, options: DiffOptions = {}): Promise<EngineDiff> {
    const result = (await this.call('diff', { url, dir, externalTables: options.externalTables ?? [], script: options.script ?? false })) as DiffResult;
    return { empty: result.exitCode === 0, text: result.stdout ?? '' };
  }

  /** Ends the process; drops shadow databases a dead worker left behind. */
  async close(): Promise<void> {
    if (!this.dead) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      await this.call('close', {}).catch(() => this.child.kill());
      this.child.ref();
      await exited;
    }
    for (const database of this.shadows) await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
    this.shadows.clear();
  }

  private call(method: string, params: Record<string, unknown>): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.ref();
      this.child.channel?.ref();
      this.child.send({ id, method, params });
    });
  }

  private onMessage(message: WorkerMessage): void {
    if ('event' in message) {
      if (message.event === 'shadow') {
        if (message.state === 'created') this.shadows.add(message.database);
        else this.shadows.delete(message.database);
      } else if (message.event === 'fatal') {
        this.dead = new Error(message.message);
      }
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if ('error' in message) pending.reject(new EngineError(message.error.message, message.error.code, message.error.logs));
    else pending.resolve(message.result);
    this.idle();
  }

  private fail(error: Error): void {
    this.dead = error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  /** An idle worker does not keep the test process alive (a forgotten close() cannot hang jest). */
  private idle(): void {
    if (this.pending.size === 0) {
      this.child.channel?.unref();
      this.child.unref();
    }
  }
}

/** The engine's diagnosis as a StatusVerdict. */
export function engineVerdict(output: DiagnoseMigrationHistoryOutput): StatusVerdict {
  const history = output.history;
  const pending = history && history.diagnostic !== 'migrationsDirectoryIsBehind' ? history.unappliedMigrationNames : [];
  const databaseOnly = history && history.diagnostic !== 'databaseIsBehind' ? history.unpersistedMigrationNames : [];
  return {
    managed: output.hasMigrationsTable,
    pending,
    databaseOnly,
    lastCommon: history?.diagnostic === 'historiesDiverge' ? history.lastCommonMigrationName : null,
    failed: output.failedMigrationNames,
    edited: output.editedMigrationNames,
  };
}

/** Our status report (`status --json`, core `status()`) as a StatusVerdict. */
export function ourVerdict(report: StatusReport): StatusVerdict {
  const diverged = report.pending.length > 0 && report.databaseOnly.length > 0;
  return {
    managed: report.managed,
    pending: report.pending,
    databaseOnly: report.databaseOnly,
    lastCommon: diverged ? report.lastCommon : null,
    failed: report.failed.map((f) => f.name),
    edited: report.edited,
  };
}

/**
 * The exit code `prisma migrate status` gives for a diagnosis (prisma/prisma packages/migrate
 * MigrateStatus.ts): 1 for pending, diverged, not managed or failed; 0 otherwise, including when the
 * database only has migrations missing locally (migrationsDirectoryIsBehind is not reported).
 */
export function prismaStatusExitCode(output: DiagnoseMigrationHistoryOutput): 0 | 1 {
  const history = output.history?.diagnostic;
  if (history === 'databaseIsBehind' || history === 'historiesDiverge') return 1;
  if (!output.hasMigrationsTable || output.failedMigrationNames.length > 0) return 1;
  return 0;
}

/** One `_prisma_migrations` row without its id and times (which differ between any two runs). */
export interface ComparableRow {
  readonly migrationName: string;
  readonly checksum: string;
  readonly finished: boolean;
  readonly rolledBack: boolean;
  /** null, '' or, for a failed row, '<error>' (each side words its own error; compare those texts apart). */
  readonly logs: string | null;
  readonly appliedStepsCount: number;
  /** The id is a UUID and started_at <= finished_at <= rolled_back_at where set. */
  readonly wellFormed: boolean;
}

/** The rows in Prisma's reading order (started_at), comparable across databases. */
export async function migrationRows(client: Client): Promise<ComparableRow[]> {
  const { rows } = await client.query(
    `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back, logs, applied_steps_count,
            id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
              AND started_at <= coalesce(finished_at, started_at) AND coalesce(finished_at, started_at) <= coalesce(rolled_back_at, 'infinity') AS well_formed
       FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
  );
  return rows.map((r) => ({
    migrationName: r.migration_name,
    checksum: r.checksum,
    finished: r.finished,
    rolledBack: r.rolled_back,
    logs: !r.finished && r.logs ? '<error>' : r.logs,
    appliedStepsCount: r.applied_steps_count,
    wellFormed: r.well_formed,
  }));
}

/** The migrations table's definition: columns (name, type, nullability, default) and primary key. */
export async function migrationsTableShape(client: Client): Promise<string[]> {
  const { rows } = await client.query(
    `SELECT format('%s %s %s %s', a.attname, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'NULL' END, coalesce(pg_get_expr(d.adbin, d.adrelid), '')) AS item
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = 'public._prisma_migrations'::regclass AND a.attnum > 0 AND NOT a.attisdropped
     UNION ALL
     SELECT 'constraint ' || contype::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'public._prisma_migrations'::regclass
     ORDER BY 1`,
  );
  return rows.map((r) => r.item);
}
