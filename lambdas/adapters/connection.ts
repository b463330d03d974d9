/**
 * Opens the one database session an invocation works on: credentials from the secret (cached),
 * TLS verify-full against the RDS CA, a bounded connect timeout, and an application_name naming
 * the step and the execution so an operator sees in pg_stat_activity who holds what.
 * Local and test runs may give a plain DATABASE_URL instead of a secret.
 */
import { readFileSync } from 'node:fs';
import { DatabaseConnectionError, InputValidationError } from '../core/errors';
import type { DbOpener, OwnedDb } from '../core/ports';
import { readEnv, SETTINGS } from '../core/settings';
import { connect } from './pg';
import { type CredentialDefaults, type SecretCache, credentialsToUrl, parseDatabaseSecret } from './secrets';
import { type TlsMode, tlsOptions } from './tls';

export type ConnectionSource =
  | { readonly kind: 'secret'; readonly secretId: string; readonly defaults: CredentialDefaults }
  | { readonly kind: 'url'; readonly url: string };

export interface ConnectionSettings {
  readonly source: ConnectionSource;
  readonly tls: TlsMode;
  /** PEM file of the CA to trust instead of the RDS bundle (DB_CA_FILE). */
  readonly caFile?: string;
  /** @default 10000 */
  readonly connectTimeoutMs: number;
}

/** Who is connecting, for application_name and logs. */
export interface SessionLabel {
  readonly step: string;
  readonly executionName?: string;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * Reads DB_SECRET_ARN (AWS) or DATABASE_URL (local), DB_TLS, DB_CA_FILE, DB_HOST/DB_PORT/DB_NAME
 * (fallbacks for secrets with only username/password) and DB_CONNECT_TIMEOUT_MS. Fails closed: both sources
 * set, neither set, or TLS disabled with a secret are configuration errors.
 */
export function connectionSettingsFromEnv(env: NodeJS.ProcessEnv): ConnectionSettings {
  const secretId = readEnv(SETTINGS.databaseSecretArn, env);
  const url = readEnv(SETTINGS.databaseUrl, env);
  if (secretId && url) throw new InputValidationError('set either DB_SECRET_ARN or DATABASE_URL, not both');
  if (!secretId && !url) throw new InputValidationError('no database configured: set DB_SECRET_ARN (AWS) or DATABASE_URL (local runs)');
  const tlsSetting = readEnv(SETTINGS.databaseTls, env);
  const connectTimeoutMs = readEnv(SETTINGS.connectTimeoutMs, env);
  const caFile = readEnv(SETTINGS.databaseCaFile, env);
  // Fallbacks for a secret without them; only what is set counts (the secret's own values win).
  const set = (name: string) => Boolean(env[name]?.trim());
  const defaults = {
    host: readEnv(SETTINGS.databaseHost, env),
    port: set('DB_PORT') ? readEnv(SETTINGS.databasePort, env) : undefined,
    dbname: set('DB_NAME') ? readEnv(SETTINGS.databaseName, env) : undefined,
  };
  if (secretId) {
    if (tlsSetting === 'disable') throw new InputValidationError('DB_TLS=disable is only allowed with a local DATABASE_URL');
    return { source: { kind: 'secret', secretId, defaults }, tls: 'require', caFile, connectTimeoutMs };
  }
  // A loopback URL (embedded PostgreSQL) defaults to plain TCP; anything else to verified TLS.
  const tls: TlsMode = tlsSetting ?? (isLoopback(url!) ? 'disable' : 'require');
  return { source: { kind: 'url', url: url! }, tls, caFile, connectTimeoutMs };
}

function isLoopback(url: string): boolean {
  try {
    return LOOPBACK.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** `mr:<step>:<execution>`, printable ASCII, within PostgreSQL's 63 bytes. */
export function applicationName(label: SessionLabel): string {
  const raw = label.executionName ? `mr:${label.step}:${label.executionName}` : `mr:${label.step}`;
  return raw.replace(/[^\x20-\x7e]/g, '_').slice(0, 63);
}

/** TLS settings come from the adapter, never from the URL (a `sslmode=disable` there must not win). */
function withoutTlsParameters(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url; // connect() reports the bad URL without repeating it
  }
  for (const key of ['ssl', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert', 'sslnegotiation']) parsed.searchParams.delete(key);
  return parsed.toString();
}

export class DatabaseConnector {
  private ca?: string;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly secrets?: SecretCache,
  ) {
    if (settings.source.kind === 'secret' && !secrets) throw new InputValidationError('a secret source needs a secret cache');
  }

  /** Opens one session; on an authentication failure with a cached secret, re-reads it once (rotation). */
  async open(label: SessionLabel): Promise<OwnedDb> {
    try {
      return await this.openOnce(label);
    } catch (error) {
      const source = this.settings.source;
      if (source.kind === 'secret' && error instanceof DatabaseConnectionError && error.code === 'P1000') {
        this.secrets!.invalidate(source.secretId);
        return this.openOnce(label);
      }
      throw error;
    }
  }

  /** An opener for the engine's second session (lock watching), labelled as such. */
  opener(label: SessionLabel): DbOpener {
    return () => this.open({ ...label, step: `${label.step}-watch` });
  }

  private async openOnce(label: SessionLabel): Promise<OwnedDb> {
    const url = await this.url();
    return connect(withoutTlsParameters(url), {
      applicationName: applicationName(label),
      connectTimeoutMs: this.settings.connectTimeoutMs,
      ssl: tlsOptions(this.settings.tls, this.caBundle()),
    });
  }

  private caBundle(): string | undefined {
    const file = this.settings.caFile;
    if (file === undefined) return undefined;
    try {
      this.ca ??= readFileSync(file, 'utf8');
    } catch (error) {
      throw new DatabaseConnectionError(`cannot read DB_CA_FILE ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    return this.ca;
  }

  private async url(): Promise<string> {
    const source = this.settings.source;
    if (source.kind === 'url') return source.url;
    const parsed = parseDatabaseSecret(await this.secrets!.get(source.secretId), source.secretId, source.defaults);
    return parsed.kind === 'url' ? parsed.url : credentialsToUrl(parsed.credentials);
  }
}
