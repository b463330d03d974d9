/**
 * The small interfaces core logic is written against, so the same code runs in a unit test, a
 * Lambda, the CLI and the local rehearsal. Adapters (lambdas/adapters) implement them.
 */

export interface QueryResult<R> {
  readonly rows: R[];
  readonly rowCount: number;
}

/** One database session. Errors thrown carry `code` (SQLSTATE) like node-postgres errors. */
export interface Db {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Backend process id of this session (pg_backend_pid()). */
  readonly pid: number;
  /**
   * Subscribes to the session's NOTICE/INFO messages; returns the unsubscribe function. Optional:
   * the engine uses it to run a whole transaction in one round trip and still name a failing statement.
   */
  onNotice?(listener: (message: string) => void): () => void;
}

/** A session the caller owns and must close. */
export interface OwnedDb extends Db {
  close(): Promise<void>;
}

/** Opens another session on the same database (used to watch the main session's lock waits). */
export type DbOpener = () => Promise<OwnedDb>;

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** What a thrown database error looks like (node-postgres DatabaseError's fields we use). */
export interface DbErrorLike {
  readonly message: string;
  readonly code?: string;
  readonly position?: string;
  readonly detail?: string;
  readonly hint?: string;
}

export function asDbError(error: unknown): DbErrorLike {
  if (error && typeof error === 'object' && 'message' in error) return error as DbErrorLike;
  return { message: String(error) };
}
