/**
 * lintMigrations: a pure function from migration texts (+ target version and, in preflight, live
 * catalog facts) to the JSON report. It replays every migration in order to build the schema model,
 * and lints those after `since`. It needs the PostgreSQL 18 grammar loaded once: `await loadLinter()`
 * (or call `lint()`, which does both).
 */
import { InputValidationError, SqlSyntaxError } from '../errors';
import { loadLatestParser, parseLatestSync } from '../sql/parser';
import { splitSql, type SqlStatement } from '../migrations/sql';
import { list } from './ast';
import { BLOCKS, describeLocks, LOCK_ORDER, statementLocks } from './locks';
import { RULES } from './rules';
import { emptySchema, replay } from './schema';
import { findSuppressions } from './suppressions';
import { modelTransactions } from './transactions';
import { timeoutMs } from './rules/lock-timeout-too-long';
import {
  SEVERITY_RANK,
  worst,
  type Finding,
  type LintOptions,
  type LintReport,
  type MigrationInput,
  type MigrationReport,
  type PriorStatement,
  type Rule,
  type RuleContext,
  type RuleHit,
  type Severity,
  type TableFacts,
  type Target,
  type Verdict,
  type LockMode,
} from './types';

export const DEFAULT_PG_VERSION = 16;
const SMALL_TABLE_BYTES = 64 * 1024 * 1024;
const LARGE_TABLE_BYTES = 1024 * 1024 * 1024;

interface SizeLimits {
  readonly smallRows: number;
  readonly largeRows: number;
}
const STATEMENT_TEXT_LIMIT = 500;
const NO_LOCKS: ReadonlyMap<string, LockMode> = new Map();

/** Loads the parser (PostgreSQL 18 grammar, so 18-only syntax like VIRTUAL columns parses). */
export function loadLinter(): Promise<void> {
  return loadLatestParser();
}

/** Loads the parser if needed, then lints. */
export async function lint(migrations: readonly MigrationInput[], options: LintOptions = {}): Promise<LintReport> {
  await loadLinter();
  return lintMigrations(migrations, options);
}

/** 16 -> 160000 (minor unknown); 140002 -> 14.2; 90600 -> 9.6. */
export function resolveTarget(pgVersion: number = DEFAULT_PG_VERSION): Target {
  if (!Number.isInteger(pgVersion) || pgVersion <= 0) throw new InputValidationError(`pgVersion must be a major version (16) or a server_version_num (160002), got ${pgVersion}`);
  if (pgVersion < 100) {
    // Later majors are accepted (gated like the newest one known): a new server must not stop deploys.
    if (pgVersion < 9 || pgVersion > 39) throw new InputValidationError(`pgVersion ${pgVersion} is not a PostgreSQL major version (9-39)`);
    return { versionNum: pgVersion * 10000, major: pgVersion };
  }
  if (pgVersion < 90000 || pgVersion >= 400000) throw new InputValidationError(`pgVersion ${pgVersion} is not a server_version_num (90000-399999)`);
  // 9.x numbering: 90605 is 9.6.5 (the "major" was two parts then).
  if (pgVersion < 100000) return { versionNum: pgVersion, major: 9, minor: Math.floor((pgVersion % 10000) / 100) };
  return { versionNum: pgVersion, major: Math.floor(pgVersion / 10000), minor: pgVersion % 100 };
}

/** Lints migrations given in apply order. Requires loadLinter(). */
export function lintMigrations(migrations: readonly MigrationInput[], options: LintOptions = {}): LintReport {
  const target = resolveTarget(options.pgVersion);
  const timeouts = options.timeouts ?? 'runner';
  const limits: SizeLimits = { smallRows: options.smallTableRows ?? 10_000, largeRows: options.largeTableRows ?? 1_000_000 };
  const schema = emptySchema();
  const reports: MigrationReport[] = [];

  migrations.forEach((migration, migrationIndex) => {
    const linted = options.since === undefined || migration.name > options.since;
    let statements: SqlStatement[];
    try {
      statements = splitSql(migration.sql, { fileName: migration.file, serverVersionNum: target.versionNum, parse: parseLatestSync });
    } catch (error) {
      if (!(error instanceof SqlSyntaxError)) throw error;
      const at = (error.details ?? {}) as { line?: number; column?: number };
      if (linted) reports.push({ name: migration.name, file: migration.file, verdict: 'error', findings: [], error: { message: error.message, line: at.line ?? 1, column: at.column ?? 1 } });
      return;
    }
    const model = modelTransactions(statements, migrationIndex);
    const priorByTxn = new Map<string, PriorStatement[]>();
    const timeoutsSet = { lock: false, statement: false };
    const findings: Finding[] = [];

    for (const stmt of statements) {
      const txn = model.perStatement[stmt.index];
      // Rules see the statements before this one; it is appended after they ran.
      let priorInTxn = priorByTxn.get(txn.key);
      if (!priorInTxn) {
        priorInTxn = [];
        priorByTxn.set(txn.key, priorInTxn);
      }
      let locks: ReadonlyMap<string, LockMode> = NO_LOCKS;
      let slow: string | undefined;
      if (linted) {
        locks = statementLocks(stmt);
        const base = {
          stmt,
          node: stmt.node,
          target,
          schema,
          migrationIndex,
          statements,
          txn,
          priorInTxn,
          timeoutsSet: { ...timeoutsSet },
          options: { timeouts },
          fileHasNonTransactional: model.hasNonTransactional,
          isNewTable: (q: string) => schema.tables.get(q)?.createdMigration === migrationIndex,
          table: (q: string) => schema.tables.get(q),
        };
        const hits: [Rule, RuleHit][] = [];
        const rules = rulesFor(stmt.nodeType, options.hygiene ?? false);
        for (const rule of rules.before) for (const hit of rule.check(base)) hits.push([rule, hit]);
        slow = slowWork(stmt, hits);
        const after: RuleContext = { ...base, slow };
        for (const rule of rules.after) for (const hit of rule.check(after)) hits.push([rule, hit]);
        for (const [rule, hit] of hits) findings.push(toFinding(rule, hit, stmt, locks, options.catalog?.tables, limits));
      }
      if (stmt.nodeType === 'VariableSetStmt') {
        const name = (stmt.node.name as string | undefined)?.toLowerCase();
        const ms = timeoutMs(list(stmt.node, 'args')[0]);
        if (name === 'lock_timeout') timeoutsSet.lock = ms !== undefined && ms > 0;
        if (name === 'statement_timeout') timeoutsSet.statement = ms !== undefined && ms > 0;
      }
      priorInTxn.push({ stmt, locks, slow });
      replay(schema, stmt, { migrationIndex, txnKey: txn.key });
    }
    if (linted) {
      const all = applySuppressions(migration.sql, statements, findings);
      const verdict = all.reduce<Verdict>((v, f) => (f.suppressed ? v : worst(v, f.severity)), 'safe');
      reports.push({ name: migration.name, file: migration.file, verdict, findings: all });
    }
  });

  return {
    verdict: reports.reduce<Verdict>((v, r) => worst(v, r.verdict), 'safe'),
    pgVersionNum: target.versionNum,
    migrations: reports,
  };
}

const byNodeType = new Map<string, { before: Rule[]; after: Rule[] }>();
/** The rules that look at a statement of this node type, split by phase (computed once per type). */
function rulesFor(nodeType: string, hygiene: boolean): { before: Rule[]; after: Rule[] } {
  const key = `${nodeType}:${hygiene}`;
  let rules = byNodeType.get(key);
  if (!rules) {
    const applicable = RULES.filter((r) => (!r.on || r.on.includes(nodeType)) && (hygiene || !r.hygiene));
    rules = { before: applicable.filter((r) => !r.afterStatement), after: applicable.filter((r) => r.afterStatement) };
    byNodeType.set(key, rules);
  }
  return rules;
}

/** Why a statement is slow under a lock: a rewrite or scan found by a rule (validation has its own rule). */
function slowWork(stmt: SqlStatement, hits: [Rule, RuleHit][]): string | undefined {
  for (const [rule, hit] of hits) {
    const rewrites = hit.rewrites ?? rule.rewrites;
    const severity = hit.severity ?? rule.severity;
    if (rewrites === 'none' || severity === 'safe' || rule.id === 'LK304') continue;
    const first = stmt.text.split(/\s+/).slice(0, 3).join(' ');
    return `the ${rewrites === 'rewrite' ? 'rewrite' : 'scan'} by line ${stmt.line} (${first} ...: ${rule.name})`;
  }
  return undefined;
}

function factsFor(catalog: Readonly<Record<string, TableFacts>> | undefined, table: string | undefined): TableFacts | undefined {
  if (!catalog || !table) return undefined;
  return catalog[table] ?? catalog[table.replace(/^public\./, '')];
}

function toFinding(
  rule: Rule,
  hit: RuleHit,
  stmt: SqlStatement,
  locks: ReadonlyMap<string, LockMode>,
  catalog: Readonly<Record<string, TableFacts>> | undefined,
  limits: SizeLimits,
): Finding {
  let severity: Severity = hit.severity ?? rule.severity;
  let message = hit.message;
  const facts = factsFor(catalog, hit.table);
  if (rule.sizeSensitive && facts && facts.rowEstimate !== undefined && facts.rowEstimate >= 0) {
    const size = describeSize(facts);
    const bytes = facts.totalBytes ?? 0;
    const small = rule.sizeSensitive === 'any-row' ? facts.rowEstimate === 0 : facts.rowEstimate <= limits.smallRows && bytes <= SMALL_TABLE_BYTES;
    const large = facts.rowEstimate >= limits.largeRows || bytes >= LARGE_TABLE_BYTES;
    if (small && severity === 'dangerous') {
      severity = 'careful';
      message += ` (${hit.table} is small: ${size}, so the lock is short)`;
    } else if (large && severity === 'careful' && rule.sizeSensitive === 'duration' && (hit.rewrites ?? rule.rewrites) !== 'none') {
      // A careful scan or rewrite becomes an outage on a large table.
      severity = 'dangerous';
      message += ` (${hit.table} is large: ${size}, so the lock is held for a long time)`;
    } else {
      message += ` (${hit.table}: ${size})`;
    }
  }
  const lockText = hit.lock ?? lockDescription(rule.lock, locks);
  const strongest = [...locks.values()].sort((a, b) => LOCK_ORDER.indexOf(b) - LOCK_ORDER.indexOf(a))[0];
  return {
    rule: rule.name,
    id: rule.id,
    severity,
    line: stmt.line,
    column: stmt.column,
    statement: stmt.text.length > STATEMENT_TEXT_LIMIT ? `${stmt.text.slice(0, STATEMENT_TEXT_LIMIT)}...` : stmt.text,
    lock: lockText,
    blocks: hit.lock || !strongest ? rule.blocks : `${BLOCKS[strongest]}`,
    rewrites: hit.rewrites ?? rule.rewrites,
    message,
    fix: hit.fix ?? rule.fix,
  };
}

/** "ACCESS EXCLUSIVE on public.users for a full table scan": the held locks, with the rule's detail. */
function lockDescription(ruleLock: string, locks: ReadonlyMap<string, LockMode>): string {
  const held = describeLocks(locks);
  if (!held) return ruleLock;
  if (ruleLock === 'none') return held;
  const single = locks.size === 1 ? [...locks][0] : undefined;
  if (single && ruleLock.startsWith(single[1])) {
    const detail = ruleLock.slice(single[1].length).trim().replace(/^on the table/, '');
    return detail ? `${held}${detail.startsWith(',') ? detail : ` ${detail}`}` : held;
  }
  return `${held} (${ruleLock})`;
}


function describeSize(facts: TableFacts): string {
  const rows = `~${Math.round(facts.rowEstimate ?? 0).toLocaleString('en-US')} rows`;
  if (facts.totalBytes === undefined) return rows;
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = facts.totalBytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${rows}, ${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

const META = {
  noReason: { rule: 'suppression-without-reason', id: 'LM001' },
  unused: { rule: 'unused-suppression', id: 'LM002' },
};

function applySuppressions(sql: string, statements: readonly SqlStatement[], findings: Finding[]): Finding[] {
  const suppressions = findSuppressions(sql, statements);
  const out = findings.map((f) => {
    const stmt = statements.find((s) => s.line === f.line && s.column === f.column);
    const s = suppressions.find((x) => x.statementIndex === stmt?.index && x.reason && (x.rule === f.rule || x.rule === f.id.toLowerCase()));
    if (!s) return f;
    s.used = true;
    return { ...f, suppressed: true, suppressionReason: s.reason };
  });
  for (const s of suppressions) {
    const stmt = statements[s.statementIndex] as SqlStatement | undefined;
    const base = { line: s.line, column: 1, statement: stmt?.text.slice(0, STATEMENT_TEXT_LIMIT) ?? '', lock: 'none', blocks: 'nothing', rewrites: 'none' as const };
    if (!stmt) {
      out.push({ ...base, ...META.unused, severity: 'safe', message: `migration-runner:allow ${s.rule} is not directly above a statement, so it applies to nothing`, fix: 'Move the comment to the line(s) directly above the statement' });
    } else if (!s.reason) {
      out.push({ ...base, ...META.noReason, severity: 'careful', message: `migration-runner:allow ${s.rule} has no reason, so it suppresses nothing`, fix: `-- migration-runner:allow ${s.rule} <why this is safe here>` });
    } else if (!s.used) {
      const known = RULES.some((r) => r.name === s.rule || r.id.toLowerCase() === s.rule);
      out.push({ ...base, ...META.unused, severity: 'safe', message: known ? `migration-runner:allow ${s.rule} matched no finding of the next statement` : `migration-runner:allow names no rule: "${s.rule}"`, fix: 'Remove the comment (or name the rule that fires)' });
    }
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column || SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
}
