/**
 * Who blocks whom: the runbook's lock troubleshooting queries, used to name the sessions that made
 * a statement hit lock_timeout, and the holder of the migration advisory lock.
 */
import type { Db } from '../ports';
import { ADVISORY_LOCK_KEY } from './table';

export interface BlockingSession {
  readonly pid: number;
  readonly state: string | null;
  readonly applicationName: string | null;
  readonly user: string | null;
  /** Seconds since the blocking session's transaction started (null outside a transaction). */
  readonly transactionSeconds: number | null;
  /** The session's current or last query, truncated to 300 characters. */
  readonly query: string | null;
}

const SESSION_COLUMNS = `a.pid, a.state, a.application_name, a.usename,
  round(extract(epoch FROM clock_timestamp() - a.xact_start)::numeric, 1)::float8 AS xact_seconds,
  left(a.query, 300) AS query`;

function toSession(r: Record<string, unknown>): BlockingSession {
  return {
    pid: Number(r.pid),
    state: (r.state as string | null) ?? null,
    applicationName: (r.application_name as string | null) || null,
    user: (r.usename as string | null) ?? null,
    transactionSeconds: r.xact_seconds === null || r.xact_seconds === undefined ? null : Number(r.xact_seconds),
    query: (r.query as string | null) ?? null,
  };
}

/** Sessions that block `pid` right now (pg_blocking_pids). */
export async function blockersOf(db: Db, pid: number): Promise<BlockingSession[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT ${SESSION_COLUMNS} FROM pg_catalog.pg_stat_activity a WHERE a.pid = ANY (pg_catalog.pg_blocking_pids($1)) ORDER BY a.xact_start NULLS LAST`,
    [pid],
  );
  return rows.map(toSession);
}

/** Sessions holding the migration advisory lock (another deploy). */
export async function advisoryLockHolders(db: Db): Promise<BlockingSession[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT ${SESSION_COLUMNS} FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1 AND l.pid <> pg_catalog.pg_backend_pid()`,
    [ADVISORY_LOCK_KEY],
  );
  return rows.map(toSession);
}

export function describeSession(s: BlockingSession): string {
  const parts = [`PID ${s.pid}`];
  if (s.applicationName) parts.push(`application ${s.applicationName}`);
  if (s.state) parts.push(s.state);
  if (s.transactionSeconds !== null) parts.push(`transaction open ${s.transactionSeconds}s`);
  return `${parts.join(', ')}${s.query ? `: ${s.query.replace(/\s+/g, ' ').trim()}` : ''}`;
}
