/**
 * `prisma migrate resolve --applied / --rolled-back`, with Prisma's semantics and error codes.
 * Both take the advisory lock; --applied creates the table if needed (that is how a database is
 * baselined), without the P3005 check.
 */
import {
  MigrationAlreadyAppliedError,
  MigrationNeverAppliedError,
  MigrationNotFailedError,
  MigrationNotFoundError,
} from '../errors';
import { systemClock, type Clock, type Db } from '../ports';
import { withAdvisoryLock } from './deploy';
import type { LocalMigration } from './folder';
import { CREATE_TABLE_SQL, insertAppliedRow, isFailed, markRolledBack, readRows } from './table';

export type ResolveRequest = { readonly applied: string } | { readonly rolledBack: string };

export interface ResolveOptions {
  readonly advisoryLockTimeoutMs?: number;
  readonly clock?: Clock;
}

export interface ResolveResult {
  readonly migration: string;
  readonly as: 'applied' | 'rolled-back';
  /** Failed rows marked rolled back by this call. */
  readonly rolledBackRows: number;
}

export async function resolve(
  db: Db,
  migrations: readonly LocalMigration[],
  request: ResolveRequest,
  options: ResolveOptions = {},
): Promise<ResolveResult> {
  const clock = options.clock ?? systemClock;
  return withAdvisoryLock(db, options.advisoryLockTimeoutMs ?? 10_000, async () => {
    const rows = await readRows(db);
    if ('applied' in request) {
      const name = request.applied;
      const local = migrations.find((m) => m.name === name);
      if (!local) {
        throw new MigrationNotFoundError(
          `The migration ${name} could not be found. Please make sure that the migration exists, and that you included the whole name of the directory. (example: "20201207184859_initial_migration")`,
          { code: 'P3017' },
        );
      }
      const own = (rows ?? []).filter((r) => r.migrationName === name && r.rolledBackAt === null);
      if (own.some((r) => r.finishedAt !== null)) {
        throw new MigrationAlreadyAppliedError(`The migration \`${name}\` is already recorded as applied in the database.`, { code: 'P3008' });
      }
      if (rows === null) await db.query(CREATE_TABLE_SQL);
      const now = clock.now();
      const rolledBackRows = own.some(isFailed) ? await markRolledBack(db, name, now) : 0;
      await insertAppliedRow(db, name, local.checksum, now);
      return { migration: name, as: 'applied', rolledBackRows };
    }
    const name = request.rolledBack;
    const own = (rows ?? []).filter((r) => r.migrationName === name);
    if (own.length === 0) {
      throw new MigrationNeverAppliedError(
        `Migration \`${name}\` cannot be rolled back because it was never applied to the database. Hint: did you pass in the whole migration name? (example: "20201207184859_initial_migration")`,
        { code: 'P3011' },
      );
    }
    if (!own.some(isFailed)) {
      throw new MigrationNotFailedError(`Migration \`${name}\` cannot be rolled back because it is not in a failed state.`, { code: 'P3012' });
    }
    const rolledBackRows = await markRolledBack(db, name, clock.now());
    return { migration: name, as: 'rolled-back', rolledBackRows };
  });
}
