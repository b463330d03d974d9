/**
 * node-postgres adapter: one session implementing the Db port. Validates the URL before any
 * network I/O, bounds the connect time, names the session (application_name), honours Prisma's
 * `?schema=` parameter, and maps connection failures to DatabaseConnectionError with messages
 * that never contain the password or the URL.
 */
import { Client, type ClientConfig } from 'pg';
import { DatabaseConnectionError, InputValidationError } from '../core/errors';
import type { OwnedDb, QueryResult } from '../core/ports';
import { quoteIdent } from '../core/quote';

export interface ConnectOptions {
  /** application_name shown in pg_stat_activity, e.g. `migration-runner:apply`. */
  readonly applicationName?: string;
  /** Give up connecting after this long. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** TLS settings passed to node-postgres (the Lambda adapter sets CA verification). */
  readonly ssl?: ClientConfig['ssl'];
}

export interface ParsedUrl {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** Prisma's `?schema=`: the search_path to use. */
  readonly schema?: string;
  /** The URL without the `schema` parameter, for node-postgres. */
  readonly connectionString: string;
}

/** Validates a PostgreSQL URL; the error never repeats the URL (it may hold a password). */
export function parseDatabaseUrl(url: string): ParsedUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputValidationError('the database URL is not a valid URL (expected postgresql://user:password@host:5432/database)');
  }
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
    throw new InputValidationError(`the database URL is not a PostgreSQL URL: scheme "${parsed.protocol.replace(/:$/, '')}" (expected postgresql://)`);
  }
  if (!parsed.hostname) throw new InputValidationError('the database URL has no host');
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username) || 'postgres',
    schema: schema || undefined,
    connectionString: parsed.toString(),
  };
}

class PgSession implements OwnedDb {
  constructor(
    private readonly client: Client,
    readonly pid: number,
  ) {}

  async query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    const result = await this.client.query(sql, params as unknown[] | undefined);
    // A multi-statement simple query returns an array of results: the last one is the answer.
    const last = Array.isArray(result) ? result[result.length - 1] : result;
    return { rows: (last?.rows ?? []) as R[], rowCount: last?.rowCount ?? 0 };
  }

  onNotice(listener: (message: string) => void): () => void {
    const handler = (notice: { message?: string }) => listener(notice.message ?? '');
    this.client.on('notice', handler);
    return () => this.client.off('notice', handler);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/** Opens one session. Throws InputValidationError for a bad URL, DatabaseConnectionError otherwise. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<OwnedDb> {
  const target = parseDatabaseUrl(url);
  const client = new Client({
    connectionString: target.connectionString,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? 'migration-runner',
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
  });
  // A server-side disconnect must surface on the next query, not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectionError(error, target);
  }
  const session = new PgSession(client, (client as unknown as { processID: number }).processID);
  if (target.schema) await session.query(`SET search_path TO ${quoteIdent(target.schema)}`);
  return session;
}

function connectionError(error: unknown, target: ParsedUrl): DatabaseConnectionError {
  const code = (error as { code?: string }).code;
  const where = `${target.host}:${target.port}`;
  if (code === '28P01' || code === '28000') {
    return new DatabaseConnectionError(
      `Authentication failed against database server at \`${where}\`, the provided database credentials for \`${target.user}\` are not valid.`,
      { code: 'P1000' },
    );
  }
  if (code === '3D000') {
    return new DatabaseConnectionError(`Database \`${target.database}\` does not exist on the database server at \`${where}\`.`, { code: 'P1003' });
  }
  const reason = code ?? ((error as Error).message?.includes('timeout') ? 'connect timeout' : 'unreachable');
  return new DatabaseConnectionError(`Can't reach database server at \`${where}\` (${reason}).`, { code: 'P1001' });
}
