/**
 * The runbook's lock troubleshooting, as an action: list the sessions in lock conflicts on this
 * database (who waits, for whom, for how long), and terminate sessions the operator named, but
 * only those that are still blocking someone at the moment we act: a PID typed from a listing a
 * minute old may by now belong to a harmless, or a different, session.
 */
import { RESULT_LIMITS, type ApplyBlockersResult, type BlockerSession } from '../contracts';
import type { Db, Logger } from '../ports';
import { silentLogger } from '../ports';

const SECONDS = (column: string) => `round(extract(epoch FROM clock_timestamp() - ${column})::numeric, 1)::float8`;

/** Sessions of the current database that wait for a lock, and the sessions they wait for. */
const CONFLICTS_SQL = `
WITH waiting AS (
  SELECT a.pid, pg_catalog.pg_blocking_pids(a.pid) AS blocked_by
    FROM pg_catalog.pg_stat_activity a
   WHERE a.datname = pg_catalog.current_database() AND a.pid <> pg_catalog.pg_backend_pid()
     AND cardinality(pg_catalog.pg_blocking_pids(a.pid)) > 0
), involved AS (
  SELECT pid FROM waiting UNION SELECT unnest(blocked_by) FROM waiting
)
SELECT a.pid,
       coalesce(w.blocked_by, '{}'::int[]) AS blocked_by,
       EXISTS (SELECT 1 FROM waiting w2 WHERE a.pid = ANY (w2.blocked_by)) AS blocking,
       a.usename, a.application_name, a.state, a.wait_event_type,
       ${SECONDS('a.xact_start')} AS xact_seconds,
       ${SECONDS('a.query_start')} AS query_seconds,
       ${SECONDS('a.state_change')} AS state_seconds,
       left(a.query, ${RESULT_LIMITS.text}) AS query
  FROM involved i JOIN pg_catalog.pg_stat_activity a ON a.pid = i.pid LEFT JOIN waiting w ON w.pid = a.pid
 ORDER BY blocking DESC, a.xact_start NULLS LAST, a.pid
 LIMIT ${RESULT_LIMITS.sessions}`;

/** Transactions open longer than $1 seconds in this database (other than ours). */
const LONG_TRANSACTIONS_SQL = `
SELECT a.pid, pg_catalog.pg_blocking_pids(a.pid) AS blocked_by,
       EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity w WHERE w.datname = a.datname AND a.pid = ANY (pg_catalog.pg_blocking_pids(w.pid))) AS blocking,
       a.usename, a.application_name, a.state, a.wait_event_type,
       ${SECONDS('a.xact_start')} AS xact_seconds,
       ${SECONDS('a.query_start')} AS query_seconds,
       ${SECONDS('a.state_change')} AS state_seconds,
       left(a.query, ${RESULT_LIMITS.text}) AS query
  FROM pg_catalog.pg_stat_activity a
 WHERE a.datname = pg_catalog.current_database() AND a.pid <> pg_catalog.pg_backend_pid()
   AND a.xact_start < clock_timestamp() - make_interval(secs => $1)
 ORDER BY a.xact_start
 LIMIT ${RESULT_LIMITS.sessions}`;

function toSession(row: Record<string, unknown>): BlockerSession {
  const seconds = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  return {
    pid: Number(row.pid),
    blockedBy: ((row.blocked_by as number[] | null) ?? []).map(Number),
    blocking: Boolean(row.blocking),
    user: (row.usename as string | null) ?? null,
    applicationName: (row.application_name as string | null) || null,
    state: (row.state as string | null) ?? null,
    waitEventType: (row.wait_event_type as string | null) ?? null,
    transactionSeconds: seconds(row.xact_seconds),
    querySeconds: seconds(row.query_seconds),
    stateSeconds: seconds(row.state_seconds),
    query: (row.query as string | null) ?? null,
  };
}

/** Blocking sessions first (oldest transaction first), then the sessions waiting for them. */
export async function listBlockers(db: Db): Promise<BlockerSession[]> {
  const { rows } = await db.query<Record<string, unknown>>(CONFLICTS_SQL);
  return rows.map(toSession);
}

export async function longTransactions(db: Db, olderThanSeconds: number): Promise<BlockerSession[]> {
  const { rows } = await db.query<Record<string, unknown>>(LONG_TRANSACTIONS_SQL, [olderThanSeconds]);
  return rows.map(toSession);
}

/**
 * Decides and acts in one statement per PID, so the "still blocking?" check and the termination
 * see the same moment. Never our own session, never a session of another database.
 */
const TERMINATE_SQL = `
WITH target AS (
  SELECT $1::int AS pid,
         $1::int = pg_catalog.pg_backend_pid() AS ours,
         EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = $1::int AND a.datname = pg_catalog.current_database()) AS present,
         EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity w
                  WHERE w.datname = pg_catalog.current_database() AND $1::int = ANY (pg_catalog.pg_blocking_pids(w.pid))) AS blocking
)
SELECT ours, present, blocking,
       CASE WHEN blocking AND NOT ours THEN pg_catalog.pg_terminate_backend(pid) ELSE false END AS terminated
  FROM target`;

export interface TerminateOutcome {
  readonly terminated: number[];
  readonly skipped: { pid: number; reason: string }[];
}

export async function terminateBlockers(db: Db, pids: readonly number[], logger: Logger = silentLogger): Promise<TerminateOutcome> {
  const terminated: number[] = [];
  const skipped: { pid: number; reason: string }[] = [];
  for (const pid of [...new Set(pids)]) {
    try {
      const { rows } = await db.query<{ ours: boolean; present: boolean; blocking: boolean; terminated: boolean }>(TERMINATE_SQL, [pid]);
      const row = rows[0];
      if (row.terminated) {
        terminated.push(pid);
        logger.warn('terminated blocking session', { pid });
      } else {
        const reason = row.ours ? 'is this session' : !row.present ? 'no such session in this database' : !row.blocking ? 'not blocking anyone now' : 'could not be signalled';
        skipped.push({ pid, reason });
      }
    } catch (error) {
      // 42501: not allowed to signal that backend (superuser sessions, other roles without pg_signal_backend).
      const code = (error as { code?: string }).code;
      skipped.push({ pid, reason: code === '42501' ? 'permission denied to terminate it' : `error ${code ?? 'unknown'}` });
    }
  }
  return { terminated, skipped };
}

/** The `blockers` command: terminate the named PIDs that still block, then list what remains. */
export async function blockersCommand(db: Db, terminate: readonly number[] = [], logger: Logger = silentLogger): Promise<ApplyBlockersResult> {
  const outcome = terminate.length > 0 ? await terminateBlockers(db, terminate, logger) : { terminated: [], skipped: [] };
  const sessions = await listBlockers(db);
  return { command: 'blockers', sessions, terminated: outcome.terminated, skipped: outcome.skipped };
}
