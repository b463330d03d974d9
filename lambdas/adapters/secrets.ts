/**
 * Database credentials from Secrets Manager, fetched at run time (never from the environment on
 * AWS) and cached for a few minutes per container, so a warm Lambda does not call the API on every
 * invocation yet picks up a rotated password soon. Nothing here logs or returns the secret: errors
 * name the secret's id and the missing key only.
 */
import { DatabaseConnectionError } from '../core/errors';
import type { Clock } from '../core/ports';
import { systemClock } from '../core/ports';

/** What a connection needs, from an RDS secret (plus environment fallbacks for host/port/dbname). */
export interface DatabaseCredentials {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly dbname: string;
}

/** Fallbacks for secrets that hold only username and password (RDS-managed master secrets). */
export interface CredentialDefaults {
  readonly host?: string;
  readonly port?: number;
  readonly dbname?: string;
}

/** A secret is either RDS JSON (host, port, username, password, dbname) or `{ "url": "postgresql://..." }`. */
export type ParsedSecret = { readonly kind: 'fields'; readonly credentials: DatabaseCredentials } | { readonly kind: 'url'; readonly url: string };

export function parseDatabaseSecret(secretString: string, secretId: string, defaults: CredentialDefaults = {}): ParsedSecret {
  const trimmed = secretString.trim();
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return { kind: 'url', url: trimmed };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    // The parse error would quote the secret's text: say only what is wrong.
    throw new DatabaseConnectionError(`secret ${secretId} is neither JSON nor a postgresql:// URL`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new DatabaseConnectionError(`secret ${secretId} is not a JSON object`);
  const fields = value as Record<string, unknown>;
  const url = fields.url ?? fields.DATABASE_URL;
  if (typeof url === 'string') return { kind: 'url', url };
  const host = stringField(fields.host) ?? defaults.host;
  const port = numberField(fields.port) ?? defaults.port ?? 5432;
  const username = stringField(fields.username);
  const password = stringField(fields.password);
  const dbname = stringField(fields.dbname) ?? defaults.dbname ?? 'postgres';
  const missing = [!host && 'host (or DB_HOST)', !username && 'username', password === undefined && 'password'].filter(Boolean);
  if (missing.length > 0) throw new DatabaseConnectionError(`secret ${secretId} lacks ${missing.join(', ')}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DatabaseConnectionError(`secret ${secretId} has an invalid port`);
  return { kind: 'fields', credentials: { host: host!, port, username: username!, password: password!, dbname } };
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
function numberField(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

/** Builds a URL for the pg adapter; user and password are percent-encoded. */
export function credentialsToUrl(credentials: DatabaseCredentials): string {
  const user = encodeURIComponent(credentials.username);
  const password = encodeURIComponent(credentials.password);
  const host = credentials.host.includes(':') ? `[${credentials.host}]` : credentials.host;
  return `postgresql://${user}:${password}@${host}:${credentials.port}/${encodeURIComponent(credentials.dbname)}`;
}

export type SecretFetcher = (secretId: string) => Promise<string>;

/** A per-container cache of secret strings with a time to live. */
export class SecretCache {
  private readonly entries = new Map<string, { value: Promise<string>; expiresAt: number }>();

  constructor(
    private readonly fetch: SecretFetcher,
    private readonly ttlMs = 5 * 60_000,
    private readonly clock: Clock = systemClock,
  ) {}

  get(secretId: string): Promise<string> {
    const now = this.clock.now().getTime();
    const cached = this.entries.get(secretId);
    if (cached && cached.expiresAt > now) return cached.value;
    const value = this.fetch(secretId);
    this.entries.set(secretId, { value, expiresAt: now + this.ttlMs });
    // A failed fetch must not be cached.
    value.catch(() => this.entries.delete(secretId));
    return value;
  }

  /** Forget a secret (after an authentication failure: it may have been rotated). */
  invalidate(secretId: string): void {
    this.entries.delete(secretId);
  }
}
