/**
 * The linter's public shapes. The JSON report (LintReport) is a stable, documented contract
 * (docs/lint.md): preflight stores it in the execution history and CI users parse it.
 */
import type { SqlStatement } from '../migrations/sql';
import type { Schema, TableInfo } from './schema';
import type { StatementTxn } from './transactions';

/** The runbook's three classes, worst last. */
export type Severity = 'safe' | 'careful' | 'dangerous';
/** A migration's verdict; `error` when its file does not parse (nothing else is claimed about it). */
export type Verdict = Severity | 'error';

export const SEVERITY_RANK: Record<Verdict, number> = { safe: 0, careful: 1, dangerous: 2, error: 3 };

export function worst<T extends Verdict>(a: T, b: T): T {
  return SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a;
}

/** Whether the statement rewrites the table, scans it (under its lock), or neither. */
export type Rewrites = 'rewrite' | 'scan' | 'none';

export interface Finding {
  /** kebab-case rule name, e.g. "set-not-null-scan" (what suppressions name). */
  readonly rule: string;
  /** Rule id from lint-rules.md, e.g. "LK209". */
  readonly id: string;
  readonly severity: Severity;
  readonly line: number;
  readonly column: number;
  /** The statement's text (first 500 characters). */
  readonly statement: string;
  /** The lock the statement takes, e.g. "ACCESS EXCLUSIVE on public.users". */
  readonly lock: string;
  /** What that lock blocks while it is held or queued. */
  readonly blocks: string;
  readonly rewrites: Rewrites;
  readonly message: string;
  /** The safe way to do it (SQL where there is one). */
  readonly fix: string;
  /** True when a `migration-runner:allow` comment suppressed it (kept in the report, not in the verdict). */
  readonly suppressed?: boolean;
  readonly suppressionReason?: string;
}

export interface MigrationInput {
  /** Migration name (the Prisma folder name). */
  readonly name: string;
  /** Path shown in messages, e.g. prisma/migrations/2024_x/migration.sql. */
  readonly file: string;
  readonly sql: string;
}

export interface TableFacts {
  /** pg_class.reltuples (-1 or absent: never analyzed, unknown). */
  readonly rowEstimate?: number;
  /** pg_total_relation_size in bytes. */
  readonly totalBytes?: number;
}

export interface LintOptions {
  /**
   * Target PostgreSQL: a major version (16) or a server_version_num (140002 = 14.2).
   * @default 16
   */
  readonly pgVersion?: number;
  /** Lint only migrations whose name sorts after this one; earlier ones are replayed as schema history. */
  readonly since?: string;
  /** Live catalog facts from preflight, keyed by qualified name ("public.users") or bare name. */
  readonly catalog?: { readonly tables: Readonly<Record<string, TableFacts>> };
  /**
   * Who sets lock_timeout / statement_timeout: `runner` (our apply sets them for every statement, so
   * TX201/TX202 stay silent) or `file` (plain `prisma migrate deploy`: the file must set them).
   * @default 'runner'
   */
  readonly timeouts?: 'runner' | 'file';
  /**
   * A table at or below this many estimated rows (and 64 MiB) is "small": rewrites and scans of it
   * are careful rather than dangerous.
   * @default 10000
   */
  readonly smallTableRows?: number;
  /**
   * A table with at least this many estimated rows (or 1 GiB) is "large": careful scans and
   * rewrites of it (REFRESH MATERIALIZED VIEW, ATTACH PARTITION, REINDEX before 12) are dangerous.
   * @default 1000000
   */
  readonly largeTableRows?: number;
  /**
   * Also run the schema-hygiene rules (TY601-TY610: prefer bigint, text, timestamptz, jsonb...),
   * which are careful and change no lock or rewrite.
   * @default false
   */
  readonly hygiene?: boolean;
}

export interface MigrationReport {
  readonly name: string;
  readonly file: string;
  readonly verdict: Verdict;
  readonly findings: Finding[];
  /** Present when the file does not parse. */
  readonly error?: { readonly message: string; readonly line: number; readonly column: number };
}

export interface LintReport {
  /** Worst verdict of the linted migrations (`safe` when there are none). */
  readonly verdict: Verdict;
  /** Target server_version_num the rules were gated on. */
  readonly pgVersionNum: number;
  readonly migrations: MigrationReport[];
}

/** Resolved options a rule sees. */
export interface Target {
  /** server_version_num; minor 0 when only a major was given. */
  readonly versionNum: number;
  readonly major: number;
  /** undefined when only the major version is known. */
  readonly minor?: number;
}

/** What a rule reports; the engine adds position, statement text and the rule's defaults. */
export interface RuleHit {
  readonly message: string;
  readonly severity?: Severity;
  readonly fix?: string;
  /** Overrides the rule's lock description (e.g. to name the table). */
  readonly lock?: string;
  readonly rewrites?: Rewrites;
  /** Qualified table the hit is about: catalog facts for it raise or lower a size-sensitive rule. */
  readonly table?: string;
}

/** A statement already linted earlier in the same transaction. */
export interface PriorStatement {
  readonly stmt: SqlStatement;
  /** Strongest table locks it took, qualified name -> lock mode. */
  readonly locks: ReadonlyMap<string, LockMode>;
  /** Why it is slow under a lock (rewrite, scan, backfill, index build), if it is. */
  readonly slow?: string;
}

export type LockMode =
  | 'ACCESS SHARE'
  | 'ROW SHARE'
  | 'ROW EXCLUSIVE'
  | 'SHARE UPDATE EXCLUSIVE'
  | 'SHARE'
  | 'SHARE ROW EXCLUSIVE'
  | 'EXCLUSIVE'
  | 'ACCESS EXCLUSIVE';

export interface RuleContext {
  readonly stmt: SqlStatement;
  readonly node: Record<string, unknown>;
  readonly target: Target;
  /** Schema before this statement (replayed from earlier migrations and statements). */
  readonly schema: Schema;
  /** Index of the migration being linted in the whole history. */
  readonly migrationIndex: number;
  /** All statements of this migration (for look-ahead and look-behind). */
  readonly statements: readonly SqlStatement[];
  readonly txn: StatementTxn;
  /** Earlier statements of the same transaction, in order. */
  readonly priorInTxn: readonly PriorStatement[];
  /** Whether lock_timeout / statement_timeout were set earlier in this file. */
  readonly timeoutsSet: { readonly lock: boolean; readonly statement: boolean };
  readonly options: { readonly timeouts: 'runner' | 'file' };
  /** True when the file holds a statement that runs outside a transaction (the file is not atomic). */
  readonly fileHasNonTransactional: boolean;
  /** For afterStatement rules: why this statement is slow under a lock (rewrite, scan, backfill, index build). */
  readonly slow?: string;
  /** Table known and created earlier in this same migration (so empty and not yet in use). */
  isNewTable(qualified: string): boolean;
  /** The table as the replayed schema knows it, if it does. */
  table(qualified: string): TableInfo | undefined;
}

export interface Rule {
  readonly id: string;
  readonly name: string;
  readonly severity: Severity;
  readonly lock: string;
  readonly blocks: string;
  readonly rewrites: Rewrites;
  readonly fix: string;
  /**
   * How live catalog facts change the severity: `duration` (a rewrite or scan: careful on a small
   * table, dangerous on a large one), `any-row` (fails when the table has rows: careful only on an
   * empty table).
   */
  readonly sizeSensitive?: 'duration' | 'any-row';
  /** Schema-hygiene (style) rule: runs only with LintOptions.hygiene. */
  readonly hygiene?: boolean;
  /** Statement node types the rule looks at (absent: every statement). */
  readonly on?: readonly string[];
  /** Runs after the other rules, with ctx.slow known (transaction-level rules). */
  readonly afterStatement?: boolean;
  check(ctx: RuleContext): RuleHit[];
}
