/** The Prisma-compatible migration engine: read, plan, status, deploy, resolve. */
export { checksumOf, checksumMatches } from './checksum';
export { toLocalMigrations, checkProvider, type LocalMigration, type RawMigrationsFolder, type RawMigrationFolder } from './folder';
export { loadParser, splitSql, type SqlStatement, type StatementKind } from './sql';
export { planUnits, type ExecutionUnit } from './plan';
export { computeStatus, formatStatus, type StatusReport, type FailedMigration } from './status';
export {
  deploy,
  planMigrations,
  withAdvisoryLock,
  failureLogs,
  type DeployOptions,
  type DeployResult,
  type DeployHooks,
  type DeployEvent,
  type HookDecision,
  type AppliedMigration,
} from './deploy';
export { executeUnits, SessionObserver, StatementFailure, DEFAULT_EXECUTION_SETTINGS, type ExecutionSettings, type ExecutionEvent, type UnitBookkeeping } from './execute';
export { resolve, type ResolveRequest, type ResolveResult } from './resolve';
export { blockersOf, advisoryLockHolders, describeSession, type BlockingSession } from './locks';
export { readRows, tableExists, isFailed, MIGRATIONS_TABLE, ADVISORY_LOCK_KEY, type MigrationRow } from './table';

import type { Db } from '../ports';
import type { LocalMigration } from './folder';
import { computeStatus, type StatusReport } from './status';
import { readRows } from './table';

/** `migrate status` against a database: reads the rows (no lock, like Prisma) and compares. */
export async function status(db: Db, migrations: readonly LocalMigration[]): Promise<StatusReport> {
  return computeStatus(migrations, await readRows(db));
}
