/**
 * Watches the rehearsal database from outside, the way an operator would with the runbook's
 * queries: which table locks the migration-runner sessions hold and for how long (pg_locks), and
 * how far a CREATE INDEX CONCURRENTLY has got (pg_stat_progress_create_index).
 *
 * It connects to the server's maintenance database, never to the rehearsal database itself: both
 * views are cluster-wide, and a session on the rehearsal database would block the simulated RDS
 * snapshot (CREATE DATABASE ... TEMPLATE needs the template free of sessions). Lock durations are
 * sampled (every `intervalMs`), so a lock shorter than one interval may be missed and a measured
 * duration is accurate to about one interval.
 */
import { Client } from 'pg';

/** Modes that block DML or DDL: the ones worth reporting (row locks and ACCESS SHARE are not). */
/** The runner's own tables (_prisma_migrations, _migration_runner_*): their locks are not the application's. */
const BOOKKEEPING = /^_(prisma_migrations|migration_runner_)/;

const STRONG_MODES = ['AccessExclusiveLock', 'ExclusiveLock', 'ShareRowExclusiveLock', 'ShareLock', 'ShareUpdateExclusiveLock'];

export interface LockHold {
  readonly relation: string;
  readonly mode: string;
  readonly pid: number;
  readonly session: string;
  readonly ms: number;
}

export interface IndexProgress {
  /** The table the index is built on (the new index's own name is not known outside its database yet). */
  readonly table: string;
  readonly phase: string;
  readonly blocksDone: number;
  readonly blocksTotal: number;
  readonly tuplesDone: number;
  readonly tuplesTotal: number;
}

interface OpenHold {
  readonly relationOid: number;
  readonly mode: string;
  readonly pid: number;
  readonly session: string;
  readonly first: number;
  last: number;
}

export class DatabaseMonitor {
  private client: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private databaseOid = 0;
  private readonly open = new Map<string, OpenHold>();
  private readonly closed: OpenHold[] = [];
  private readonly relationNames = new Map<number, string>();
  /** Number of progress samples seen while an index was being built. */
  indexSamples = 0;

  constructor(
    private readonly maintenanceUrl: string,
    private readonly database: string,
    private readonly onIndexProgress: (progress: IndexProgress) => void,
    private readonly intervalMs = 50,
  ) {}

  async start(): Promise<void> {
    this.client = new Client({ connectionString: this.maintenanceUrl, application_name: 'migration-runner:rehearse-monitor' });
    this.client.on('error', () => undefined);
    await this.client.connect();
    const { rows } = await this.client.query<{ oid: number }>('SELECT oid::int AS oid FROM pg_database WHERE datname = $1', [this.database]);
    if (rows.length !== 1) throw new Error(`rehearsal database ${this.database} not found`);
    this.databaseOid = rows[0].oid;
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const hold of this.open.values()) this.closed.push(hold);
    this.open.clear();
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  /** Every lock hold seen, longest first (relation names resolved while the lock was held). */
  holds(): LockHold[] {
    return this.toHolds([...this.closed, ...this.open.values()]);
  }

  /**
   * Only application tables are named (nameRelations): locks on their indexes, TOAST tables and the
   * transient heap of a rewrite last as long as the table's own lock, so reporting them would add
   * nothing, and the runner's bookkeeping tables are not what traffic waits on.
   */
  private toHolds(holds: OpenHold[]): LockHold[] {
    return holds
      .filter((h) => this.relationNames.has(h.relationOid))
      .map((h) => ({
        relation: this.relationNames.get(h.relationOid)!,
        mode: h.mode,
        pid: h.pid,
        session: h.session,
        // A lock seen in one sample was held for at least an instant: count one interval.
        ms: h.last - h.first + this.intervalMs,
      }))
      .sort((a, b) => b.ms - a.ms);
  }

  /** Holds that started in [from, to) (epoch ms), longest first. */
  holdsBetween(from: number, to: number): LockHold[] {
    return this.toHolds([...this.closed, ...this.open.values()].filter((h) => h.first >= from && h.first < to));
  }

  private async sample(): Promise<void> {
    if (this.busy || !this.client) return;
    this.busy = true;
    try {
      const now = Date.now();
      const locks = await this.client.query<{ pid: number; relation: number; mode: string; app: string }>(
        `SELECT l.pid, l.relation::bigint::float8 AS relation, l.mode, a.application_name AS app
           FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'relation' AND l.granted AND l.database = $1 AND l.mode = ANY($2)
            AND a.application_name LIKE 'mr:%'`,
        [this.databaseOid, STRONG_MODES],
      );
      const seen = new Set<string>();
      for (const row of locks.rows) {
        const key = `${row.pid}/${row.relation}/${row.mode}`;
        seen.add(key);
        const hold = this.open.get(key);
        if (hold) hold.last = now;
        else this.open.set(key, { relationOid: row.relation, mode: row.mode, pid: row.pid, session: row.app, first: now, last: now });
      }
      for (const [key, hold] of this.open) {
        if (seen.has(key)) continue;
        this.closed.push(hold);
        this.open.delete(key);
      }
      // pg_class here is the maintenance database's: the rehearsal's relation names are filled in
      // by the runner between executions (nameRelations), when a short session there is harmless.
      const progress = await this.client.query<{ table: number; phase: string; blocks_done: string; blocks_total: string; tuples_done: string; tuples_total: string }>(
        `SELECT relid::bigint::float8 AS table, phase, blocks_done, blocks_total, tuples_done, tuples_total
           FROM pg_catalog.pg_stat_progress_create_index WHERE datid = $1`,
        [this.databaseOid],
      );
      for (const row of progress.rows) {
        this.indexSamples += 1;
        this.onIndexProgress({
          table: this.relationNames.get(row.table) ?? `relation ${row.table}`,
          phase: row.phase,
          blocksDone: Number(row.blocks_done),
          blocksTotal: Number(row.blocks_total),
          tuplesDone: Number(row.tuples_done),
          tuplesTotal: Number(row.tuples_total),
        });
      }
    } catch {
      // A sample can fail while a database is being dropped or copied: the next one will do.
    } finally {
      this.busy = false;
    }
  }

  /** Names for relation OIDs of the rehearsal database (read by the runner between executions). */
  nameRelations(names: ReadonlyMap<number, string>): void {
    for (const [oid, name] of names) if (!BOOKKEEPING.test(name)) this.relationNames.set(oid, name);
  }
}
