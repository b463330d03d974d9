/**
 * Health: a probe samples the database (an interface, so a CloudWatch-based probe can replace the
 * SQL one), and a pure function decides whether to hold. A hold is returned to the caller as
 * `waitSeconds`; the engine never sleeps through it.
 */
import type { HealthLimits } from './definition';
import type { Db } from '../ports';

export interface HealthSample {
  /** Largest replay lag of any streaming replica, seconds; undefined without replicas. */
  readonly replicationLagSeconds?: number;
  /** WAL written per second since the previous sample; undefined on the first sample. */
  readonly walBytesPerSecond?: number;
  /** Age of the oldest open transaction in this database (other than ours), seconds. */
  readonly oldestTransactionSeconds?: number;
  /** Autovacuum is working on the table; `wraparound` when it is an anti-wraparound vacuum. */
  readonly autovacuum?: 'running' | 'wraparound';
}

export interface HealthProbe {
  sample(): Promise<HealthSample>;
}

export interface Hold {
  readonly reason: string;
  readonly waitSeconds: number;
}

/** The first limit exceeded, as a hold; undefined when healthy. */
export function evaluateHealth(sample: HealthSample, limits: HealthLimits): Hold | undefined {
  const hold = (reason: string): Hold => ({ reason, waitSeconds: limits.holdSeconds });
  if (sample.replicationLagSeconds !== undefined && sample.replicationLagSeconds > limits.maxReplicationLagSeconds) {
    return hold(`replication lag ${sample.replicationLagSeconds.toFixed(1)} s > ${limits.maxReplicationLagSeconds} s`);
  }
  if (limits.maxWalBytesPerSecond !== undefined && sample.walBytesPerSecond !== undefined && sample.walBytesPerSecond > limits.maxWalBytesPerSecond) {
    return hold(`WAL rate ${Math.round(sample.walBytesPerSecond)} B/s > ${limits.maxWalBytesPerSecond} B/s`);
  }
  if (sample.oldestTransactionSeconds !== undefined && sample.oldestTransactionSeconds > limits.maxTransactionAgeSeconds) {
    return hold(`a transaction has been open ${Math.round(sample.oldestTransactionSeconds)} s > ${limits.maxTransactionAgeSeconds} s (xmin horizon)`);
  }
  if (sample.autovacuum && (limits.autovacuum === 'always' || (limits.autovacuum === 'wraparound' && sample.autovacuum === 'wraparound'))) {
    return hold(sample.autovacuum === 'wraparound' ? 'anti-wraparound autovacuum on the table' : 'autovacuum on the table');
  }
  return undefined;
}

/** The SQL probe: catalog views any role can read on PostgreSQL 13+ and RDS / Aurora PostgreSQL. */
export function pgHealthProbe(db: Db, relationOid: number): HealthProbe {
  let previous: { lsn: string; at: number } | undefined;
  return {
    async sample() {
      const { rows } = await db.query<{
        lsn: string;
        lag: number | null;
        oldest: number | null;
        autovacuum: string | null;
        wal_bytes: string | null;
      }>(
        `SELECT pg_current_wal_lsn()::text AS lsn,
                (SELECT max(extract(epoch FROM replay_lag))::float8 FROM pg_stat_replication) AS lag,
                (SELECT max(extract(epoch FROM clock_timestamp() - xact_start))::float8 FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
                    AND backend_type = 'client backend' AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)) AS oldest,
                (SELECT CASE WHEN bool_or(a.query LIKE '%to prevent wraparound%') THEN 'wraparound' ELSE 'running' END
                   FROM pg_stat_progress_vacuum v JOIN pg_stat_activity a ON a.pid = v.pid
                  WHERE v.relid = $1 AND a.backend_type = 'autovacuum worker') AS autovacuum,
                CASE WHEN $2::pg_lsn IS NULL THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), $2::pg_lsn)::text END AS wal_bytes`,
        [relationOid, previous?.lsn ?? null],
      );
      const row = rows[0];
      const now = Date.now();
      const elapsed = previous ? (now - previous.at) / 1000 : 0;
      const sample: HealthSample = {
        ...(row.lag === null ? {} : { replicationLagSeconds: Number(row.lag) }),
        ...(row.oldest === null ? {} : { oldestTransactionSeconds: Number(row.oldest) }),
        ...(row.autovacuum === null ? {} : { autovacuum: row.autovacuum as 'running' | 'wraparound' }),
        ...(row.wal_bytes === null || elapsed <= 0 ? {} : { walBytesPerSecond: Number(row.wal_bytes) / elapsed }),
      };
      previous = { lsn: row.lsn, at: now };
      return sample;
    },
  };
}
