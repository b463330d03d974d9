/**
 * Backfill barriers: which backfills a deploy owes before it may apply anything else.
 *
 * The rule, one for the apply Lambda and the CLI alike (docs/architecture.md, "Backfill barriers"):
 * - a backfill with a state row that is not `done` (running, holding, paused, failed, cancelled)
 *   is owed wherever its migration sits in the applied history: the runner started it, so it must
 *   finish (or be resolved by an operator) before anything else runs;
 * - a backfill that never started is owed only when its migration is the newest applied one (no
 *   later local migration applied): that is a barrier an earlier deploy stopped at or was killed
 *   on. A never-started backfill of a migration with later migrations applied after it was applied
 *   by something other than the runner (Prisma ignores backfill.json) and is left alone: the table
 *   it names may have changed since, and running it now could only fail or do harm.
 */
import { backfillFor, backfillState, type BackfillDefinition, type BackfillState } from '../backfill';
import type { Db } from '../ports';
import type { LocalMigration } from '../migrations/folder';

export interface Barrier {
  /** The migration folder holding backfill.json. */
  readonly migration: string;
  /** The backfill's name (backfill.json `name`, or the folder's). */
  readonly backfill: string;
  readonly definition: BackfillDefinition;
}

/**
 * Parses every backfill.json of the folder (applied and pending): a bad one stops the deploy
 * before the database is touched. Keyed by migration name.
 */
export async function readBackfills(migrations: readonly LocalMigration[]): Promise<Map<string, BackfillDefinition>> {
  const backfills = new Map<string, BackfillDefinition>();
  for (const migration of migrations) {
    const definition = await backfillFor(migration);
    if (definition) backfills.set(migration.name, definition);
  }
  return backfills;
}

/** The rule above for one applied migration's backfill. */
export function isOwed(state: Pick<BackfillState, 'status'> | undefined, newestApplied: boolean): boolean {
  return state ? state.status !== 'done' : newestApplied;
}

/** Backfills of applied migrations the deploy owes, in migration order. */
export async function owedBarriers(
  db: Db,
  migrations: readonly LocalMigration[],
  backfills: ReadonlyMap<string, BackfillDefinition>,
  pending: ReadonlySet<string>,
): Promise<Barrier[]> {
  const owed: Barrier[] = [];
  for (let i = 0; i < migrations.length; i++) {
    const migration = migrations[i];
    const definition = backfills.get(migration.name);
    if (!definition || pending.has(migration.name)) continue;
    const newestApplied = migrations.slice(i + 1).every((later) => pending.has(later.name));
    if (isOwed(await backfillState(db, definition.name), newestApplied)) {
      owed.push({ migration: migration.name, backfill: definition.name, definition });
    }
  }
  return owed;
}

/** Whether the backfill of a migration just applied still has to run (anything but `done`). */
export async function barrierAfter(db: Db, migration: string, backfills: ReadonlyMap<string, BackfillDefinition>): Promise<Barrier | undefined> {
  const definition = backfills.get(migration);
  if (!definition) return undefined;
  const state = await backfillState(db, definition.name);
  return state?.status === 'done' ? undefined : { migration, backfill: definition.name, definition };
}
