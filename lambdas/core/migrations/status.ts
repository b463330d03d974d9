/**
 * `prisma migrate status`, computed from the local folder and the table's rows. Pure: the caller
 * reads the rows (readRows) and renders the report (formatStatus).
 */
import { checksumMatches } from './checksum';
import type { LocalMigration } from './folder';
import { isFailed, type MigrationRow } from './table';

export interface FailedMigration {
  readonly name: string;
  readonly startedAt: string;
  /** First line of the logs, or null for a migration interrupted while running. */
  readonly error: string | null;
}

export interface StatusReport {
  /** False when the database has no `_prisma_migrations` table. */
  readonly managed: boolean;
  readonly localCount: number;
  readonly appliedCount: number;
  /** Local migrations with no row (or only rolled-back rows), in order. */
  readonly pending: string[];
  /** Rows neither finished nor rolled back. */
  readonly failed: FailedMigration[];
  /** Applied in the database, missing locally. */
  readonly databaseOnly: string[];
  /** Applied, but the local file no longer matches the recorded checksum (a warning). */
  readonly edited: string[];
  readonly lastCommon: string | null;
  /** `prisma migrate status` exit code: 1 when anything but `edited` is reported. */
  readonly exitCode: 0 | 1;
}

export function computeStatus(local: readonly LocalMigration[], rows: readonly MigrationRow[] | null): StatusReport {
  if (rows === null) {
    return {
      managed: false,
      localCount: local.length,
      appliedCount: 0,
      pending: local.map((m) => m.name),
      failed: [],
      databaseOnly: [],
      edited: [],
      lastCommon: null,
      exitCode: local.length > 0 ? 1 : 0,
    };
  }
  const active = rows.filter((r) => r.rolledBackAt === null);
  const byName = new Map<string, MigrationRow[]>();
  for (const row of active) byName.set(row.migrationName, [...(byName.get(row.migrationName) ?? []), row]);
  const localNames = new Set(local.map((m) => m.name));

  const pending = local.filter((m) => !byName.has(m.name)).map((m) => m.name);
  const failed = active.filter(isFailed).map((r) => ({
    name: r.migrationName,
    startedAt: r.startedAt.toISOString(),
    error: r.logs ? (r.logs.split('\n').find((line) => line.startsWith('ERROR') || line.startsWith('Lock')) ?? r.logs.split('\n')[0]) : null,
  }));
  const databaseOnly = [...new Set(active.filter((r) => !localNames.has(r.migrationName)).map((r) => r.migrationName))];
  const edited = local
    .filter((m) => {
      const finished = (byName.get(m.name) ?? []).filter((r) => r.finishedAt !== null);
      return finished.length > 0 && !finished.some((r) => checksumMatches(r.checksum, m.sql));
    })
    .map((m) => m.name);
  let lastCommon: string | null = null;
  for (const m of local) {
    if (!byName.has(m.name)) break;
    lastCommon = m.name;
  }
  const appliedCount = new Set(active.filter((r) => r.finishedAt !== null).map((r) => r.migrationName)).size;
  const dirty = pending.length > 0 || failed.length > 0 || databaseOnly.length > 0;
  return { managed: true, localCount: local.length, appliedCount, pending, failed, databaseOnly, edited, lastCommon, exitCode: dirty ? 1 : 0 };
}

/** The report in Prisma's words (plus the edited-migration warning Prisma does not give). */
export function formatStatus(report: StatusReport, migrationsDir: string): string {
  const out: string[] = [];
  const count = report.localCount;
  out.push(count === 0 ? `No migration found in ${migrationsDir}` : `${count} migration${count === 1 ? '' : 's'} found in ${migrationsDir}`);
  out.push('');
  if (!report.managed) {
    out.push('The current database is not managed by Prisma Migrate.');
    if (report.pending.length > 0) {
      out.push('', `Following migration${report.pending.length === 1 ? '' : 's'} have not yet been applied:`, ...report.pending);
      out.push('', 'To apply migrations in production run migration-runner deploy.');
    }
    return `${out.join('\n')}\n`;
  }
  if (report.databaseOnly.length > 0) {
    out.push('Your local migration history and the migrations table from your database are different:', '');
    out.push(`The last common migration is: ${report.lastCommon ?? '(none)'}`, '');
    if (report.pending.length > 0) out.push('The migrations have not yet been applied:', ...report.pending, '');
    out.push(`The migrations from the database are not found locally in ${migrationsDir}:`, ...report.databaseOnly, '');
  } else if (report.pending.length > 0) {
    out.push(`Following migration${report.pending.length === 1 ? '' : 's'} have not yet been applied:`, ...report.pending, '');
    out.push('To apply migrations in production run migration-runner deploy.', '');
  }
  if (report.failed.length > 0) {
    out.push(`Following migration${report.failed.length === 1 ? '' : 's'} have failed:`);
    for (const f of report.failed) out.push(`${f.name}${f.error ? ` (${f.error})` : ' (started, never finished)'}`);
    out.push('', 'The failed migration(s) can be marked as rolled back or applied:', '');
    out.push('- If you rolled back the migration(s) manually:', `migration-runner resolve --rolled-back "${report.failed[0].name}"`, '');
    out.push('- If you fixed the database manually (hotfix):', `migration-runner resolve --applied "${report.failed[0].name}"`, '');
  }
  if (report.edited.length > 0) {
    out.push(`Warning: ${report.edited.length === 1 ? 'this migration was' : 'these migrations were'} modified after being applied (checksum differs):`);
    out.push(...report.edited, '');
  }
  if (report.exitCode === 0) out.push('Database schema is up to date!');
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
