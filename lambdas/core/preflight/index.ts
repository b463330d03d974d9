/**
 * Preflight: everything the runbook's engineer checks before `prisma migrate deploy`, as one plan.
 * Status (pending / failed / edited / DB-only), a lint verdict per pending migration with live
 * table sizes, database health, backups, current lock conflicts, the restore point, and whether a
 * snapshot and an approval are needed. A deploy is refused (named error) when something is wrong;
 * other actions and dry runs get the plan with the refusals listed.
 */
import { clip, RESULT_LIMITS, type LongOperation, type MigrationVerdict, type PreflightFinding, type PreflightResult, type Refusal, type Verdict } from '../contracts';
import {
  DangerousMigrationNotApprovedError,
  DatabaseUnhealthyError,
  FailedMigrationsError,
  NoRestorableBackupError,
  SqlSyntaxError,
  type MigrationRunnerError,
} from '../errors';
import type { ExecutionInput } from '../execution-input';
import { lint } from '../lint/lint';
import type { Finding, LintReport } from '../lint/types';
import type { LocalMigration } from '../migrations/folder';
import { computeStatus } from '../migrations/status';
import { readRows } from '../migrations/table';
import { listBlockers } from '../blockers';
import type { Clock, Db, Logger } from '../ports';
import { silentLogger, systemClock } from '../ports';
import { checkBackup, type BackupPolicy } from './backup';
import { readCatalogFacts, type TableFacts } from './catalog';
import { checkHealth, type HealthPolicy } from './health';
import type { RdsBackupApi, StorageMetricsApi } from './ports';
import { LAMBDA_BUDGET_SECONDS, longOperations } from './duration';
import { snapshotIdentifier } from './snapshot-id';

export interface PreflightSettings {
  readonly health: HealthPolicy;
  readonly backup: BackupPolicy;
  /** Environment snapshot policy; `always` wins over the input. @default auto */
  readonly snapshotPolicy: 'auto' | 'always' | 'never';
  /**
   * Environment approval policy (APPROVAL_POLICY): `careful` makes careful migrations need an
   * entry in `approve` too, for teams that review every lock-taking change. @default dangerous
   */
  readonly approvalPolicy?: 'dangerous' | 'careful';
  readonly snapshotPrefix: string;
  /** Linter target; default: the server's version. */
  readonly pgVersion?: number;
}

export interface PreflightDeps {
  readonly db: Db;
  readonly migrations: readonly LocalMigration[];
  readonly rds: RdsBackupApi;
  readonly storage: StorageMetricsApi | null;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

const PREFLIGHT_LOCK_TIMEOUT_MS = 5_000;
const PREFLIGHT_STATEMENT_TIMEOUT_MS = 60_000;

const RANK: Record<Verdict, number> = { safe: 0, careful: 1, dangerous: 2 };
const worse = (a: Verdict, b: Verdict): Verdict => (RANK[b] > RANK[a] ? b : a);

/** The table a finding's lock names ("SHARE on public.users"). */
function findingTable(finding: Finding): string | undefined {
  return /\bon ([A-Za-z0-9_."$]+)/.exec(finding.lock)?.[1]?.replace(/"/g, '');
}

function factsFor(tables: Record<string, TableFacts>, name: string | undefined): TableFacts | undefined {
  if (!name) return undefined;
  return tables[name] ?? tables[name.replace(/^public\./, '')];
}

/**
 * Bytes the pending DDL may write: a rewrite copies the table with its indexes; an index build
 * writes roughly a third of the table's size. An estimate, to compare against free storage.
 */
function ddlBytesEstimate(report: LintReport, pending: ReadonlySet<string>, tables: Record<string, TableFacts>): number {
  const counted = new Set<string>();
  let bytes = 0;
  for (const migration of report.migrations) {
    if (!pending.has(migration.name)) continue;
    for (const finding of migration.findings) {
      const table = findingTable(finding);
      const size = factsFor(tables, table)?.totalBytes ?? 0;
      const key = `${finding.rule}:${table}`;
      if (size === 0 || counted.has(key)) continue;
      if (finding.rewrites === 'rewrite') bytes += size;
      else if (finding.rule.includes('index') || finding.rule.includes('unique') || finding.rule.includes('primary-key')) bytes += Math.round(size / 3);
      else continue;
      counted.add(key);
    }
  }
  return bytes;
}

function toVerdict(report: LintReport['migrations'][number] | undefined): { verdict: Verdict; findings: PreflightFinding[] } {
  if (!report) return { verdict: 'safe', findings: [] };
  if (report.verdict === 'error') {
    // A file that does not parse would stop deploy before anything runs: treat it as the worst.
    return { verdict: 'dangerous', findings: [{ rule: 'syntax-error', severity: 'dangerous', line: report.error?.line ?? null, message: clip(report.error?.message ?? 'syntax error')! }] };
  }
  const findings = report.findings
    .filter((f) => !f.suppressed && f.severity !== 'safe')
    .sort((a, b) => RANK[b.severity] - RANK[a.severity] || a.line - b.line)
    .slice(0, RESULT_LIMITS.findingsPerMigration)
    .map((f) => ({ rule: f.rule, severity: f.severity, line: f.line, message: clip(f.message)! }));
  return { verdict: report.verdict, findings };
}

/** A statement estimated to outlast the apply Lambda makes its migration dangerous, saying why. */
function withTimeLimit(verdict: MigrationVerdict, long: readonly LongOperation[]): MigrationVerdict {
  const over = long.filter((op) => op.migration === verdict.name && op.exceedsLambda);
  if (over.length === 0) return verdict;
  const findings: PreflightFinding[] = over.map((op) => ({
    rule: 'lambda-time-limit',
    severity: 'dangerous',
    line: op.line,
    message: clip(
      `the build or rewrite of ${op.table} (${(op.tableBytes / 1024 ** 3).toFixed(1)} GiB) is estimated at ${Math.round(op.estimatedSeconds / 60)} minutes, more than one apply invocation can run (${LAMBDA_BUDGET_SECONDS / 60} minutes): run this migration from the CLI (migration-runner deploy) next to the database, then deploy again`,
    )!,
  }));
  return { ...verdict, verdict: 'dangerous', findings: [...findings, ...verdict.findings].slice(0, RESULT_LIMITS.findingsPerMigration) };
}

function needsSnapshot(policy: PreflightSettings['snapshotPolicy'], requested: ExecutionInput['snapshot'], verdict: Verdict, pending: number): boolean {
  if (pending === 0) return false;
  if (policy === 'always' || requested === 'always') return true;
  if (policy === 'never' || requested === 'never') return false;
  return verdict !== 'safe';
}

function refusalError(refusal: Refusal, details: Record<string, unknown>): MigrationRunnerError {
  switch (refusal.error) {
    case 'FailedMigrationsError':
      return new FailedMigrationsError(refusal.reason, { code: 'P3009', details });
    case 'DangerousMigrationNotApprovedError':
      return new DangerousMigrationNotApprovedError(refusal.reason, { details });
    case 'DatabaseUnhealthyError':
      return new DatabaseUnhealthyError(refusal.reason, { details });
    case 'NoRestorableBackupError':
      return new NoRestorableBackupError(refusal.reason, { details });
    case 'SqlSyntaxError':
      return new SqlSyntaxError(refusal.reason, { details });
  }
}

export async function runPreflight(deps: PreflightDeps, input: ExecutionInput, executionName: string | undefined, settings: PreflightSettings): Promise<PreflightResult> {
  try {
    return await plan(deps, input, executionName, settings);
  } catch (error) {
    // Even reading the catalog waited too long: that is the state of the database, say so by name.
    const code = (error as { code?: string }).code;
    if (code === '55P03' || code === '57014') {
      throw new DatabaseUnhealthyError(
        `preflight could not read the database within ${code === '55P03' ? `${PREFLIGHT_LOCK_TIMEOUT_MS} ms (a session holds a conflicting lock; see the blockers action)` : `${PREFLIGHT_STATEMENT_TIMEOUT_MS} ms (statement timeout)`}`,
        { details: { sqlState: code }, cause: error },
      );
    }
    throw error;
  }
}

async function plan(deps: PreflightDeps, input: ExecutionInput, executionName: string | undefined, settings: PreflightSettings): Promise<PreflightResult> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const db = deps.db;
  // Taken before anything changes: the point a restore goes back to if this deploy goes wrong.
  const restorePoint = clock.now();
  // Preflight only reads, but even a read waits behind an ACCESS EXCLUSIVE lock: never hang on one.
  await db.query(`SET lock_timeout = '${PREFLIGHT_LOCK_TIMEOUT_MS}ms'; SET statement_timeout = '${PREFLIGHT_STATEMENT_TIMEOUT_MS}ms'`);

  const status = computeStatus(deps.migrations, await readRows(db));
  const pendingSet = new Set(status.pending);
  const { rows: versionRows } = await db.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  const tables = await readCatalogFacts(db);
  const firstPending = deps.migrations.findIndex((m) => pendingSet.has(m.name));
  const since = firstPending > 0 ? deps.migrations[firstPending - 1].name : undefined;
  const report = await lint(
    deps.migrations.map((m) => ({ name: m.name, file: m.file, sql: m.sql })),
    { pgVersion: settings.pgVersion ?? Number(versionRows[0].v), catalog: { tables }, since },
  );
  const byName = new Map(report.migrations.map((r) => [r.name, r]));
  const rewriteLines = new Map(report.migrations.map((r) => [r.name, new Set(r.findings.filter((f) => f.rewrites === 'rewrite').map((f) => f.line))]));
  const long = longOperations(deps.migrations.filter((m) => pendingSet.has(m.name)), tables, rewriteLines);

  const verdicts: MigrationVerdict[] = deps.migrations
    .filter((m) => pendingSet.has(m.name))
    .slice(0, RESULT_LIMITS.names)
    .map((m) => withTimeLimit({
      name: m.name,
      ...toVerdict(byName.get(m.name)),
      approved: input.approve.includes(m.name),
      backfill: m.backfillJson !== undefined,
      rollback: m.rollbackSql !== undefined,
    }, long));
  const verdict = verdicts.reduce<Verdict>((v, m) => worse(v, m.verdict), 'safe');
  const approvalPolicy = settings.approvalPolicy ?? 'dangerous';
  const needsApprovalVerdicts: readonly Verdict[] = approvalPolicy === 'careful' ? ['dangerous', 'careful'] : ['dangerous'];
  const toApprove = verdicts.filter((v) => needsApprovalVerdicts.includes(v.verdict));
  const approvedMissing = toApprove.filter((v) => !v.approved).map((v) => v.name);

  const health = await checkHealth(db, settings.health, deps.storage, ddlBytesEstimate(report, pendingSet, tables), restorePoint);
  const backup = await checkBackup(deps.rds, settings.backup, restorePoint);
  const blockers = await listBlockers(db);

  const snapshot = needsSnapshot(settings.snapshotPolicy, input.snapshot, verdict, status.pending.length);
  const refusals: Refusal[] = [];
  if (status.failed.length > 0) {
    refusals.push({
      error: 'FailedMigrationsError',
      reason: `failed migrations must be resolved first (P3009): ${status.failed.map((f) => `${f.name} started ${f.startedAt}${f.error ? `: ${f.error}` : ''}`).join('; ')}`,
    });
  }
  const syntax = verdicts.filter((v) => v.findings.some((f) => f.rule === 'syntax-error'));
  if (syntax.length > 0) refusals.push({ error: 'SqlSyntaxError', reason: syntax.map((v) => `${v.name}: ${v.findings[0].message}`).join('; ') });
  if (approvedMissing.length > 0) {
    // Each migration is listed with the findings that gave it its verdict (for a careful one under
    // the careful policy: its careful findings), so the reviewer sees why approval is asked.
    const lines = toApprove
      .filter((v) => !v.approved)
      .map((v) => `${v.name}: ${v.findings.filter((f) => f.severity === v.verdict).map((f) => `line ${f.line} ${f.rule}: ${f.message}`).join('; ')}`);
    // One error name for both policies: the ASL's Catch and the runbook already handle it.
    const what = approvalPolicy === 'careful' ? 'dangerous and careful migrations' : 'dangerous migrations';
    refusals.push({
      error: 'DangerousMigrationNotApprovedError',
      reason: clip(`${what} need approval (add them to "approve"): ${lines.join(' | ')}`, 2000)!,
    });
  }
  if (status.pending.length > 0 && !health.ok) refusals.push({ error: 'DatabaseUnhealthyError', reason: `database unhealthy: ${health.problems.join('; ')}` });
  if (status.pending.length > 0 && !backup.ok) refusals.push({ error: 'NoRestorableBackupError', reason: `no restorable backup: ${backup.problems.join('; ')}` });

  const result: PreflightResult = {
    action: input.action,
    dryRun: input.dryRun,
    nothingPending: status.pending.length === 0,
    pending: status.pending.slice(0, RESULT_LIMITS.names),
    failed: status.failed.map((f) => f.name).slice(0, RESULT_LIMITS.names),
    edited: status.edited.slice(0, RESULT_LIMITS.names),
    dbOnly: status.databaseOnly.slice(0, RESULT_LIMITS.names),
    verdict,
    verdicts,
    needsSnapshot: snapshot,
    snapshot: snapshot
      ? {
          kind: backup.kind === 'cluster' ? 'cluster' : 'instance',
          sourceIdentifier: backup.identifier ?? settings.backup.clusterIdentifier ?? settings.backup.instanceIdentifier ?? 'local',
          identifier: snapshotIdentifier(settings.snapshotPrefix, executionName, restorePoint),
        }
      : null,
    needsApproval: toApprove.length > 0,
    approvedMissing,
    blockers,
    health,
    backup,
    longOperations: long,
    restorePoint: restorePoint.toISOString(),
    refusals,
  };
  logger.info('preflight plan', {
    pending: result.pending.length,
    verdict,
    needsSnapshot: snapshot,
    approvedMissing,
    refusals: refusals.map((r) => r.error),
  });
  if (input.action === 'deploy' && !input.dryRun && refusals.length > 0) {
    throw refusalError(refusals[0], { refusals, pending: result.pending, approvedMissing });
  }
  return result;
}
