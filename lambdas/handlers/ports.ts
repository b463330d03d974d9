/**
 * What a handler factory is given (its ports): the Lambda entry builds the real ones once at cold
 * start (shared/deps.ts over process.env, Powertools for logs and metrics); the local executor and
 * tests build theirs from their own environment object, with local AWS stand-ins. No handler reads
 * process.env or builds an adapter itself.
 */
import type { SessionLabel } from '../adapters/connection';
import type { LocalMigration } from '../core/migrations/folder';
import type { DbOpener, Logger, OwnedDb } from '../core/ports';
import type { RdsBackupApi, StorageMetricsApi } from '../core/preflight/ports';
import type { AlarmsApi, HttpProbe } from '../core/verify/ports';
import type { HandlerConfig } from './shared/config';

/** Opens database sessions labelled with the step and execution (application_name). */
export interface Sessions {
  open(label: SessionLabel): Promise<OwnedDb>;
  /** An opener for a second session (lock watching, parallel backfill partitions). */
  opener(label: SessionLabel): DbOpener;
}

export interface HandlerDeps {
  /** The functions' settings; read per invocation, so a bad value fails that invocation naming the variable. */
  readonly config: () => HandlerConfig;
  readonly sessions: () => Sessions;
  /** Reads the migrations folder (on every invocation: a stale copy must never be applied). */
  readonly migrations: (dir: string) => Promise<LocalMigration[]>;
  readonly logger: Logger;
  /** Counts for the invocation's metrics (EMF on AWS). */
  readonly metric: (name: string, count: number) => void;
  /** Keys that identify this invocation's work in the log lines that follow. */
  readonly annotate: (keys: { step: string; executionName?: string; migration?: string }) => void;
}

export interface PreflightDeps extends HandlerDeps {
  readonly rds: RdsBackupApi;
  readonly storage: StorageMetricsApi;
}

export interface VerifyDeps extends HandlerDeps {
  readonly alarms: AlarmsApi;
  readonly http: HttpProbe;
}

/** The part of Lambda's context the handlers use. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** Runs `work` on one fresh session and always closes it. */
export async function withSession<T>(deps: HandlerDeps, label: SessionLabel, work: (db: OwnedDb) => Promise<T>): Promise<T> {
  const db = await deps.sessions().open(label);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}
