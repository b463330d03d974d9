/**
 * Adapters created once per container and reused by warm invocations: the secret cache and
 * connector and the AWS APIs.
 * Keyed by their settings so a changed environment (tests, local rehearsal) never reuses a stale one.
 */
import { alarmsApi, storageMetricsApi } from '../../adapters/cloudwatch';
import { awsClients, secretsManagerFetcher } from '../../adapters/aws-clients';
import { connectionSettingsFromEnv, DatabaseConnector, type SessionLabel } from '../../adapters/connection';
import { loadMigrations } from '../../adapters/fs-source';
import { fetchProbe } from '../../adapters/http';
import { rdsBackupApi } from '../../adapters/rds';
import { SecretCache } from '../../adapters/secrets';
import type { LocalMigration } from '../../core/migrations/folder';
import type { OwnedDb } from '../../core/ports';
import type { RdsBackupApi, StorageMetricsApi } from '../../core/preflight/ports';
import type { AlarmsApi, HttpProbe } from '../../core/verify/ports';
import { tracer } from './powertools';

const secrets = new SecretCache(secretsManagerFetcher());
const connectors = new Map<string, DatabaseConnector>();
let traced = false;

function traceAwsClients(): void {
  if (traced) return;
  traced = true;
  tracer.captureAWSv3Client(awsClients.rds());
  tracer.captureAWSv3Client(awsClients.cloudWatch());
  tracer.captureAWSv3Client(awsClients.secrets());
}

export function connector(env: NodeJS.ProcessEnv = process.env): DatabaseConnector {
  const settings = connectionSettingsFromEnv(env);
  const key = JSON.stringify(settings);
  let found = connectors.get(key);
  if (!found) {
    traceAwsClients();
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

export const aws: { rds: RdsBackupApi; storage: StorageMetricsApi; alarms: AlarmsApi; http: HttpProbe } = {
  rds: rdsBackupApi(),
  storage: storageMetricsApi(),
  alarms: alarmsApi(),
  http: fetchProbe,
};
