/**
 * Adapters created once per container and reused by warm invocations: the secret cache and the
 * connector (keyed by their settings so a changed environment, in tests or a local rehearsal,
 * never reuses a stale one). AWS APIs other than Secrets Manager are in aws-apis.ts, imported
 * only by the handlers that call them.
 */
import { clientHooks, secretsManagerFetcher } from '../../adapters/aws-clients';
import { connectionSettingsFromEnv, DatabaseConnector, type SessionLabel } from '../../adapters/connection';
import { loadMigrations } from '../../adapters/fs-source';
import { SecretCache } from '../../adapters/secrets';
import type { LocalMigration } from '../../core/migrations/folder';
import type { OwnedDb } from '../../core/ports';
import { tracer } from './powertools';

// Every AWS SDK client is traced (no-op outside Lambda or with tracing disabled).
clientHooks.onCreate = (client) => void tracer.captureAWSv3Client(client as Parameters<typeof tracer.captureAWSv3Client>[0]);

const secrets = new SecretCache(secretsManagerFetcher());
const connectors = new Map<string, DatabaseConnector>();

export function connector(env: NodeJS.ProcessEnv = process.env): DatabaseConnector {
  const settings = connectionSettingsFromEnv(env);
  const key = JSON.stringify(settings);
  let found = connectors.get(key);
  if (!found) {
    found = new DatabaseConnector(settings, secrets);
    connectors.set(key, found);
  }
  return found;
}

/** Runs `work` on one fresh session and always closes it. */
export async function withSession<T>(label: SessionLabel, work: (db: OwnedDb) => Promise<T>): Promise<T> {
  const db = await connector().open(label);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/**
 * Read on every invocation (tens of milliseconds even for hundreds of folders): a local rehearsal
 * may change the folder between executions, and a stale copy must never be applied.
 */
export function migrations(dir: string): Promise<LocalMigration[]> {
  return loadMigrations(dir);
}
