/**
 * The runner's own state table, `_migration_runner_backfills` (on the session's search_path, next
 * to `_prisma_migrations`). One row per backfill: frozen bounds, cursor, batch size, counts,
 * status, hold reason and lease. Progress is therefore visible from plain SQL.
 */
import { BackfillFailedError, InputValidationError } from '../errors';
import type { Db } from '../ports';
import { asDbError } from '../ports';
import { quoteIdent } from '../quote';

export const STATE_TABLE = '_migration_runner_backfills';
export const STATE_SQL = quoteIdent(STATE_TABLE);

export type BackfillStatus = 'running' | 'holding' | 'paused' | 'failed' | 'cancelled' | 'done';
/** main: first walk over the frozen bounds; retry: set-aside ranges; verify: walk again to prove nothing is left. */
export type BackfillPhase = 'main' | 'retry' | 'verify';

/** A key range (exclusive lower, inclusive upper) that failed 3 times and waits for the retry phase. */
export interface SetAsideRange {
  readonly from: string[] | null;
  readonly to: string[];
  readonly error: string;
}

/**
 * A partition of the main phase's key range beyond the first (which uses the row's own cursor):
 * keys (from, to], walked up to `cursor` (null: not started).
 */
export interface PartState {
  readonly from: string[];
  readonly to: string[];
  readonly cursor: string[] | null;
}

export interface BackfillState {
  readonly name: string;
  readonly table: string;
  readonly status: BackfillStatus;
  readonly phase: BackfillPhase;
  readonly strategy: 'keyset' | 'range';
  /** How the current phase walks: by key, or by heap block (verify on a plain table; bounds and cursor are block numbers). */
  readonly walk: 'keys' | 'blocks';
  /** Key values as text; null lower bound = before the first key. */
  readonly lowerBound: string[] | null;
  readonly upperBound: string[] | null;
  readonly cursor: string[] | null;
  /**
   * Main phase split for parallel walking: null until decided; [] when not split; otherwise the
   * partitions after the first, whose range is (lowerBound, parts[0].from] walked by `cursor`.
   */
  readonly parts: PartState[] | null;
  readonly batchSize: number;
  readonly msPerUnit: number | null;
  readonly rowsDone: number;
  readonly rowsScanned: number;
  readonly rowsEstimate: number;
  /** Rows the update left still matching `where` (the definition cannot finish them). */
  readonly rowsStillMatching: number;
  readonly batches: number;
  readonly failedBatches: number;
  readonly setAside: SetAsideRange[];
  readonly holdReason: string | null;
  readonly holdUntil: Date | null;
  readonly lastError: string | null;
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: Date | null;
  readonly checksum: string;
  readonly startedAt: Date;
  readonly updatedAt: Date;
  readonly finishedAt: Date | null;
  /** Fraction of the key range walked in the current phase, 0..1. */
  readonly progress: number;
  /** Walking rate over the whole backfill (rows scanned per second of run time). */
  readonly ratePerSec: number;
  readonly activeSeconds: number;
}

export const CREATE_STATE_TABLE = `CREATE TABLE IF NOT EXISTS ${STATE_SQL} (
  name text PRIMARY KEY,
  table_name text NOT NULL,
  definition jsonb NOT NULL,
  checksum text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'holding', 'paused', 'failed', 'cancelled', 'done')),
  phase text NOT NULL DEFAULT 'main' CHECK (phase IN ('main', 'retry', 'verify')),
  walk text NOT NULL DEFAULT 'keys' CHECK (walk IN ('keys', 'blocks')),
  strategy text NOT NULL CHECK (strategy IN ('keyset', 'range')),
  lower_bound text[],
  upper_bound text[],
  cursor text[],
  parts jsonb,
  batch_size bigint NOT NULL,
  ms_per_unit double precision,
  rows_done bigint NOT NULL DEFAULT 0,
  rows_scanned bigint NOT NULL DEFAULT 0,
  rows_estimate bigint NOT NULL DEFAULT 0,
  rows_still_matching bigint NOT NULL DEFAULT 0,
  batches bigint NOT NULL DEFAULT 0,
  failed_batches bigint NOT NULL DEFAULT 0,
  set_aside jsonb NOT NULL DEFAULT '[]',
  hold_reason text,
  hold_until timestamptz,
  last_error text,
  lease_owner text,
  lease_pid integer,
  lease_expires_at timestamptz,
  active_ms double precision NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
)`;

/** Columns added after the first release, for state tables created by an older runner. */
const ADDED_COLUMNS: Record<string, string> = { parts: 'jsonb' };

/** Creates the state table (or adds columns a newer runner needs); a concurrent creator winning the race is fine. */
export async function ensureStateTable(db: Db): Promise<void> {
  try {
    await db.query(CREATE_STATE_TABLE);
    const { rows } = await db.query<{ name: string }>(
      `SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = ANY($2::name[]) AND NOT attisdropped`,
      [STATE_SQL, Object.keys(ADDED_COLUMNS)],
    );
    const present = new Set(rows.map((r) => r.name));
    for (const [column, type] of Object.entries(ADDED_COLUMNS)) {
      // Only when missing: ALTER TABLE takes an exclusive lock even when there is nothing to do.
      if (!present.has(column)) await db.query(`ALTER TABLE ${STATE_SQL} ADD COLUMN IF NOT EXISTS ${column} ${type}`);
    }
  } catch (error) {
    // Two sessions running CREATE TABLE IF NOT EXISTS at once: the loser sees a unique violation.
    const code = asDbError(error).code;
    if (code !== '23505' && code !== '42P07') throw error;
  }
}

interface StateRow {
  name: string;
  table_name: string;
  status: BackfillStatus;
  phase: BackfillPhase;
  strategy: 'keyset' | 'range';
  walk: 'keys' | 'blocks';
  lower_bound: string[] | null;
  upper_bound: string[] | null;
  cursor: string[] | null;
  parts: PartState[] | null;
  batch_size: string;
  ms_per_unit: number | null;
  rows_done: string;
  rows_scanned: string;
  rows_estimate: string;
  rows_still_matching: string;
  batches: string;
  failed_batches: string;
  set_aside: SetAsideRange[];
  hold_reason: string | null;
  hold_until: Date | null;
  last_error: string | null;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  checksum: string;
  active_ms: number;
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  progress: number | null;
}

/**
 * Progress of the current phase, computed in SQL: by key value for integer ranges (key values
 * walked, when partitions are walked at once), by rows walked against the estimate for keyset walks.
 */
const SELECT_STATE = `SELECT s.*, CASE
    WHEN s.status = 'done' THEN 1
    WHEN s.phase = 'main' AND s.strategy = 'range' AND jsonb_array_length(coalesce(s.parts, '[]')) > 0
         AND s.upper_bound IS NOT NULL AND s.lower_bound IS NOT NULL AND s.upper_bound[1]::numeric > s.lower_bound[1]::numeric
      THEN least(1, s.rows_scanned::numeric / (s.upper_bound[1]::numeric - s.lower_bound[1]::numeric))::float8
    WHEN (s.walk = 'blocks' OR s.strategy = 'range') AND s.upper_bound IS NOT NULL AND s.lower_bound IS NOT NULL AND s.cursor IS NOT NULL
         AND s.upper_bound[1]::numeric > s.lower_bound[1]::numeric
      THEN least(1, greatest(0, (s.cursor[1]::numeric - s.lower_bound[1]::numeric) / (s.upper_bound[1]::numeric - s.lower_bound[1]::numeric)))::float8
    WHEN s.cursor IS NULL THEN 0
    WHEN s.rows_estimate > 0 THEN least(1, (s.rows_scanned::float8 / s.rows_estimate))
    ELSE 0 END AS progress
  FROM ${STATE_SQL} s`;

function toState(row: StateRow): BackfillState {
  const activeSeconds = row.active_ms / 1000;
  const rowsScanned = Number(row.rows_scanned);
  return {
    name: row.name,
    table: row.table_name,
    status: row.status,
    phase: row.phase,
    strategy: row.strategy,
    walk: row.walk,
    lowerBound: row.lower_bound,
    upperBound: row.upper_bound,
    cursor: row.cursor,
    parts: row.parts,
    batchSize: Number(row.batch_size),
    msPerUnit: row.ms_per_unit,
    rowsDone: Number(row.rows_done),
    rowsScanned,
    rowsEstimate: Number(row.rows_estimate),
    rowsStillMatching: Number(row.rows_still_matching),
    batches: Number(row.batches),
    failedBatches: Number(row.failed_batches),
    setAside: row.set_aside,
    holdReason: row.hold_reason,
    holdUntil: row.hold_until,
    lastError: row.last_error,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    checksum: row.checksum,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    progress: row.progress ?? 0,
    ratePerSec: activeSeconds > 0 ? rowsScanned / activeSeconds : 0,
    activeSeconds,
  };
}

async function stateTableExists(db: Db): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [STATE_SQL]);
  return rows[0]?.ok === true;
}

/** One backfill's state, or undefined if it never started (or the table does not exist yet). */
export async function backfillState(db: Db, name: string): Promise<BackfillState | undefined> {
  if (!(await stateTableExists(db))) return undefined;
  const { rows } = await db.query<StateRow>(`${SELECT_STATE} WHERE s.name = $1`, [name]);
  return rows[0] ? toState(rows[0]) : undefined;
}

/** Like backfillState, for callers that know the table exists (the engine, between batches). */
export async function readState(db: Db, name: string): Promise<BackfillState | undefined> {
  const { rows } = await db.query<StateRow>(`${SELECT_STATE} WHERE s.name = $1`, [name]);
  return rows[0] ? toState(rows[0]) : undefined;
}

/** Every backfill, oldest first (for `status`). Empty when none ever ran. */
export async function listBackfills(db: Db): Promise<BackfillState[]> {
  if (!(await stateTableExists(db))) return [];
  const { rows } = await db.query<StateRow>(`${SELECT_STATE} ORDER BY s.started_at, s.name`);
  return rows.map(toState);
}

export type ControlAction = 'pause' | 'resume' | 'cancel';

/**
 * Operator control by name. Pause and cancel take effect at the next batch of a running worker
 * (its batch statement only runs while the row says running); resume makes a paused, failed or
 * cancelled backfill runnable again. A done backfill cannot be changed.
 */
export async function controlBackfill(db: Db, name: string, action: ControlAction): Promise<BackfillState> {
  const current = await backfillState(db, name);
  if (!current) throw new InputValidationError(`no backfill named "${name}" has started`);
  if (current.status === 'done') throw new InputValidationError(`backfill "${name}" is done; nothing to ${action}`);
  const allowed: Record<ControlAction, BackfillStatus[]> = {
    pause: ['running', 'holding'],
    resume: ['paused', 'failed', 'cancelled', 'holding'],
    cancel: ['running', 'holding', 'paused', 'failed'],
  };
  const next: Record<ControlAction, BackfillStatus> = { pause: 'paused', resume: 'running', cancel: 'cancelled' };
  const { rowCount } = await db.query(
    `UPDATE ${STATE_SQL} SET status = $2, hold_reason = NULL, hold_until = NULL, updated_at = now(),
            last_error = CASE WHEN $2 = 'running' THEN NULL ELSE last_error END
      WHERE name = $1 AND status = ANY($3::text[])`,
    [name, next[action], allowed[action]],
  );
  if (rowCount === 0) {
    const now = await backfillState(db, name);
    throw new InputValidationError(`cannot ${action} backfill "${name}": it is ${now?.status ?? 'gone'}`);
  }
  const updated = await backfillState(db, name);
  if (!updated) throw new BackfillFailedError(`backfill "${name}" disappeared`);
  return updated;
}
