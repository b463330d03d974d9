/**
 * After a deploy, prove it left the database in a good state before anyone calls it done:
 * - status is clean (nothing pending, failed or unknown locally);
 * - no INVALID index (a failed or interrupted CREATE INDEX CONCURRENTLY leaves one that slows writes
 *   and is never used);
 * - no NOT VALID constraint added by this deploy is left unvalidated (the 3-step pattern's middle
 *   step forgotten);
 * - each verify.sql beside a migration of this deploy returns true (run read-only);
 * - the application's health URL answers 2xx.
 * Then the monitoring loop checks the CloudWatch alarms (checkAlarms) once per call.
 */
import { clip, type AlarmsResult, type VerifyCheck, type VerifyResult } from '../contracts';
import { VerificationFailedError } from '../errors';
import type { LocalMigration } from '../migrations/folder';
import { loadParser, splitSql } from '../migrations/sql';
import { computeStatus } from '../migrations/status';
import { readRows } from '../migrations/table';
import type { Db, Logger } from '../ports';
import { asDbError, silentLogger } from '../ports';
import type { AlarmsApi, HttpProbe } from './ports';

export interface VerifyOptions {
  /** Migrations finished at or after this time are "this deploy". */
  readonly since: Date;
  readonly healthUrl?: string;
  /** @default 5000 */
  readonly healthTimeoutMs?: number;
  /** Returned for the monitoring loop. */
  readonly alarmNames: readonly string[];
  /** statement_timeout of each verify.sql query. @default 30000 */
  readonly verifyStatementTimeoutMs?: number;
}

interface NotValidAddition {
  readonly migration: string;
  readonly schema: string | null;
  readonly table: string;
  readonly constraint: string | null;
}

/** Constraints a migration adds with NOT VALID (ALTER TABLE ... ADD CONSTRAINT ... NOT VALID). */
export function notValidAdditions(migration: LocalMigration): NotValidAddition[] {
  const found: NotValidAddition[] = [];
  for (const statement of splitSql(migration.sql, { fileName: migration.file })) {
    if (statement.nodeType !== 'AlterTableStmt') continue;
    const relation = statement.node.relation as { relname: string; schemaname?: string } | undefined;
    if (!relation) continue;
    for (const cmd of (statement.node.cmds as { AlterTableCmd?: { subtype?: string; def?: { Constraint?: { conname?: string; skip_validation?: boolean } } } }[]) ?? []) {
      const constraint = cmd.AlterTableCmd?.def?.Constraint;
      if (cmd.AlterTableCmd?.subtype === 'AT_AddConstraint' && constraint?.skip_validation) {
        found.push({ migration: migration.name, schema: relation.schemaname ?? null, table: relation.relname, constraint: constraint.conname ?? null });
      }
    }
  }
  return found;
}

const INVALID_INDEXES_SQL = `
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, t.relname AS "table"
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
  JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT i.indisvalid
 ORDER BY 1 LIMIT 50`;

/** NOT VALID constraints on a table given by schema (null: current schema) and name. */
const NOT_VALID_ON_TABLE_SQL = `
SELECT con.conname
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class t ON t.oid = con.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
 WHERE NOT con.convalidated AND t.relname = $1 AND n.nspname = coalesce($2, current_schema())
 ORDER BY 1`;

async function statusCheck(db: Db, migrations: readonly LocalMigration[]): Promise<VerifyCheck> {
  const report = computeStatus(migrations, await readRows(db));
  const problems = [
    report.pending.length > 0 && `pending: ${report.pending.slice(0, 10).join(', ')}`,
    report.failed.length > 0 && `failed: ${report.failed.map((f) => f.name).slice(0, 10).join(', ')}`,
    report.databaseOnly.length > 0 && `in the database but not local: ${report.databaseOnly.slice(0, 10).join(', ')}`,
  ].filter((p): p is string => Boolean(p));
  const warning = report.edited.length > 0 ? ` (warning: edited after applied: ${report.edited.slice(0, 10).join(', ')})` : '';
  return { name: 'status-clean', ok: problems.length === 0, detail: clip((problems.join('; ') || `${report.appliedCount} applied, none pending or failed`) + warning)! };
}

async function invalidIndexCheck(db: Db): Promise<VerifyCheck> {
  const { rows } = await db.query<{ name: string; table: string }>(INVALID_INDEXES_SQL);
  return {
    name: 'no-invalid-indexes',
    ok: rows.length === 0,
    detail: clip(rows.length === 0 ? 'no INVALID index' : `INVALID: ${rows.map((r) => `${r.name} on ${r.table}`).join(', ')} (DROP INDEX CONCURRENTLY, then rebuild)`)!,
  };
}

async function notValidCheck(db: Db, deployed: readonly LocalMigration[]): Promise<VerifyCheck> {
  const left: string[] = [];
  for (const addition of deployed.flatMap(notValidAdditions)) {
    const { rows } = await db.query<{ conname: string }>(NOT_VALID_ON_TABLE_SQL, [addition.table, addition.schema]);
    // An unnamed constraint cannot be told apart from others on its table: any NOT VALID one counts.
    const still = rows.map((r) => r.conname).filter((name) => addition.constraint === null || name === addition.constraint);
    for (const name of still) left.push(`${name} on ${addition.table} (added by ${addition.migration})`);
  }
  return {
    name: 'no-not-valid-constraints',
    ok: left.length === 0,
    detail: clip(left.length === 0 ? 'every NOT VALID constraint of this deploy was validated' : `left NOT VALID: ${left.join('; ')} (ALTER TABLE ... VALIDATE CONSTRAINT)`)!,
  };
}

async function verifySqlCheck(db: Db, deployed: readonly LocalMigration[], timeoutMs: number, logger: Logger): Promise<VerifyCheck | null> {
  const withSql = deployed.filter((m) => m.verifySql !== undefined && m.verifySql.trim() !== '');
  if (withSql.length === 0) return null;
  const failures: string[] = [];
  let count = 0;
  for (const migration of withSql) {
    const statements = splitSql(migration.verifySql!, { fileName: `${migration.name}/verify.sql` });
    // Read-only and rolled back: a verify query must not be able to change anything.
    await db.query('BEGIN READ ONLY');
    try {
      await db.query(`SET LOCAL statement_timeout = '${Math.floor(timeoutMs)}ms'`);
      for (const statement of statements) {
        count++;
        const where = `${migration.name}/verify.sql line ${statement.line}`;
        try {
          const { rows } = await db.query<Record<string, unknown>>(statement.text);
          const values = rows.map((row) => Object.values(row)[0]);
          if (values.length === 0 || values.some((v) => v !== true)) failures.push(`${where} returned ${values.length === 0 ? 'no row' : 'false'}`);
        } catch (error) {
          const dbError = asDbError(error);
          failures.push(`${where} failed: ${dbError.code ?? ''} ${dbError.message}`.trim());
          break; // the transaction is aborted
        }
      }
    } finally {
      await db.query('ROLLBACK').catch(() => undefined);
    }
  }
  logger.info('verify.sql checked', { queries: count, failures: failures.length });
  return { name: 'verify-sql', ok: failures.length === 0, detail: clip(failures.length === 0 ? `${count} verify.sql queries returned true` : failures.join('; '))! };
}

async function healthUrlCheck(probe: HttpProbe, url: string, timeoutMs: number): Promise<VerifyCheck> {
  const origin = safeOrigin(url);
  try {
    const { status } = await probe.get(url, timeoutMs);
    return { name: 'health-url', ok: status >= 200 && status < 300, detail: `${origin} answered ${status}` };
  } catch (error) {
    const reason = (error as { name?: string }).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `unreachable (${(error as Error).name ?? 'error'})`;
    return { name: 'health-url', ok: false, detail: `${origin} ${reason}` };
  }
}

/** Only scheme, host and path: a health URL may carry a token in its query string. */
function safeOrigin(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid health URL)';
  }
}

export async function verifyDeploy(
  db: Db,
  migrations: readonly LocalMigration[],
  options: VerifyOptions,
  probe: HttpProbe | null,
  logger: Logger = silentLogger,
): Promise<VerifyResult> {
  await loadParser();
  const rows = (await readRows(db)) ?? [];
  const deployedNames = new Set(rows.filter((r) => r.finishedAt !== null && r.rolledBackAt === null && r.finishedAt >= options.since).map((r) => r.migrationName));
  const deployed = migrations.filter((m) => deployedNames.has(m.name));

  const checks: VerifyCheck[] = [await statusCheck(db, migrations), await invalidIndexCheck(db), await notValidCheck(db, deployed)];
  const sqlCheck = await verifySqlCheck(db, deployed, options.verifyStatementTimeoutMs ?? 30_000, logger);
  if (sqlCheck) checks.push(sqlCheck);
  if (options.healthUrl) {
    if (!probe) throw new VerificationFailedError('a health URL is configured but no HTTP probe is available');
    checks.push(await healthUrlCheck(probe, options.healthUrl, options.healthTimeoutMs ?? 5000));
  }
  const failed = checks.filter((c) => !c.ok);
  for (const check of checks) logger.info('verify check', { check: check.name, ok: check.ok, detail: check.detail });
  if (failed.length > 0) {
    throw new VerificationFailedError(`verification failed: ${failed.map((c) => `${c.name}: ${c.detail}`).join(' | ')}`, {
      details: { failed: failed.map((c) => c.name), checks },
    });
  }
  return { mode: 'verify', ok: true, checks, alarmNames: [...options.alarmNames] };
}

/** One look at the alarms: ALARM when any watched alarm is in ALARM. */
export async function checkAlarms(api: AlarmsApi, names: readonly string[]): Promise<AlarmsResult> {
  if (names.length === 0) return { mode: 'alarms', state: 'OK', firing: [], missing: [] };
  const facts = await api.describeAlarms(names);
  const known = new Set(facts.map((f) => f.name));
  const firing = facts
    .filter((f) => f.state === 'ALARM')
    .map((f) => ({ name: f.name, reason: clip(f.reason)!, since: f.updatedAt ? f.updatedAt.toISOString() : null }));
  return { mode: 'alarms', state: firing.length > 0 ? 'ALARM' : 'OK', firing, missing: names.filter((n) => !known.has(n)) };
}
