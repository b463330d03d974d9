/**
 * The runbook's "is the database fit for a migration right now" checks, with numbers: size,
 * connections against max_connections, long-running transactions (they hold locks and the xmin
 * horizon; DDL queues behind them), sessions already waiting on locks, replication lag, and free
 * storage (CloudWatch FreeStorageSpace) against what the pending DDL may need.
 */
import { longTransactions } from '../blockers';
import type { HealthReport } from '../contracts';
import type { Db } from '../ports';
import type { StorageMetricsApi } from './ports';

export interface HealthPolicy {
  /** @default 300 */
  readonly longTransactionSeconds: number;
  /** @default 60 */
  readonly maxReplicationLagSeconds: number;
  /** @default 80 */
  readonly maxConnectionsPercent: number;
  /** RDS instance whose FreeStorageSpace to read (none for Aurora: its storage grows by itself). */
  readonly instanceIdentifier?: string;
  /** Free storage must exceed the DDL estimate times this. @default 1.5 */
  readonly storageSafetyFactor?: number;
}

interface ServerFacts {
  version: string;
  in_recovery: boolean;
  database_bytes: string;
  max_connections: number;
  total: number;
  active: number;
  blocked: number;
  primary_lag: number | null;
  replica_lag: number | null;
}

const FACTS_SQL = `
SELECT current_setting('server_version') AS version,
       pg_catalog.pg_is_in_recovery() AS in_recovery,
       pg_catalog.pg_database_size(pg_catalog.current_database())::text AS database_bytes,
       current_setting('max_connections')::int AS max_connections,
       (SELECT count(*)::int FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend') AS total,
       (SELECT count(*)::int FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend' AND state = 'active') AS active,
       (SELECT count(*)::int FROM pg_catalog.pg_stat_activity
         WHERE datname = pg_catalog.current_database() AND cardinality(pg_catalog.pg_blocking_pids(pid)) > 0) AS blocked,
       (SELECT max(extract(epoch FROM replay_lag))::float8 FROM pg_catalog.pg_stat_replication) AS primary_lag,
       CASE WHEN pg_catalog.pg_is_in_recovery()
            THEN extract(epoch FROM clock_timestamp() - pg_catalog.pg_last_xact_replay_timestamp())::float8 END AS replica_lag`;

const GiB = 1024 ** 3;
const formatBytes = (bytes: number) => (bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`);

export async function checkHealth(
  db: Db,
  policy: HealthPolicy,
  storage: StorageMetricsApi | null,
  ddlBytesEstimate: number,
  now: Date,
): Promise<HealthReport> {
  const problems: string[] = [];
  const { rows } = await db.query<ServerFacts>(FACTS_SQL);
  const facts = rows[0];
  if (facts.in_recovery) problems.push('connected to a read replica (pg_is_in_recovery): migrations must run on the writer endpoint');

  const usedPercent = Math.round((facts.total / facts.max_connections) * 100);
  if (usedPercent > policy.maxConnectionsPercent) {
    problems.push(`${facts.total} of max_connections ${facts.max_connections} connections in use (${usedPercent}% > ${policy.maxConnectionsPercent}%)`);
  }

  const long = await longTransactions(db, policy.longTransactionSeconds);
  if (long.length > 0) {
    const oldest = long[0];
    problems.push(
      `${long.length} transaction(s) open longer than ${policy.longTransactionSeconds}s; oldest PID ${oldest.pid} (${oldest.applicationName ?? 'no application_name'}, ${oldest.state ?? '?'}) open ${oldest.transactionSeconds}s: DDL would queue behind it`,
    );
  }

  const lags = [facts.primary_lag, facts.replica_lag].filter((v): v is number => v !== null && v !== undefined);
  const lag = lags.length > 0 ? Math.max(...lags) : null;
  if (lag !== null && lag > policy.maxReplicationLagSeconds) {
    problems.push(`replication lag ${Math.round(lag)}s exceeds ${policy.maxReplicationLagSeconds}s`);
  }

  const free = storage && policy.instanceIdentifier ? await storage.freeStorageBytes(policy.instanceIdentifier, now) : null;
  const factor = policy.storageSafetyFactor ?? 1.5;
  if (free !== null && ddlBytesEstimate * factor > free) {
    problems.push(
      `free storage ${formatBytes(free)} is less than ${factor}x the ${formatBytes(ddlBytesEstimate)} the pending DDL may write (table rewrites and index builds)`,
    );
  }

  return {
    ok: problems.length === 0,
    problems,
    serverVersion: facts.version,
    databaseBytes: Number(facts.database_bytes),
    connections: { total: facts.total, active: facts.active, max: facts.max_connections },
    longTransactions: long,
    blockedSessions: facts.blocked,
    replicationLagSeconds: lag === null ? null : Math.round(lag * 10) / 10,
    freeStorageBytes: free,
    ddlBytesEstimate,
  };
}
