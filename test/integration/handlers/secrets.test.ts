/**
 * A full run of every handler the AWS way (credentials from Secrets Manager, TLS verified against
 * a CA, no DATABASE_URL), capturing every log line, result and error: neither the password nor
 * the connection string may appear anywhere.
 */
import { DescribeAlarmsCommand, CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { RDSClient } from '@aws-sdk/client-rds';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { randomBytes } from 'node:crypto';
import { adminUrl, freshDatabase, type TestDatabase } from '../../helpers/database';
import { mockRdsInstance } from './support/aws-mocks';
import { lambdaContext, loadHandler, thrown, writeMigrations, type Handler } from './support/lambda';
import { captureOutput } from './support/output';
import { makeTestCa, startTlsProxy, type TestCa, type TlsProxy } from './support/tls-proxy';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-production-db-AbCdEf';
const FOLDERS = {
  '20240101000000_accounts': { 'migration.sql': 'CREATE TABLE "accounts" ("id" BIGINT PRIMARY KEY, "region" TEXT);\n' },
  '20240102000000_region': {
    'migration.sql': 'SELECT 1;\n',
    'backfill.json': JSON.stringify({ name: 'accounts_region', table: 'accounts', key: 'id', set: { region: "'eu'" }, where: '"region" IS NULL' }),
    'verify.sql': `SELECT count(*) = 0 FROM "accounts" WHERE "region" IS NULL;\n`,
  },
  '20240103000000_broken': { 'migration.sql': 'ALTER TABLE "accounts" ADD COLUMN "tier" TEXT;\nSELECT * FROM "missing_table";\n', 'rollback.sql': 'ALTER TABLE "accounts" DROP COLUMN IF EXISTS "tier";\n' },
};

let db: TestDatabase;
let ca: TestCa;
let proxy: TlsProxy;
const role = `mr_app_${randomBytes(4).toString('hex')}`;
// Characters that need encoding in a URL, so an encoded copy leaking would also be caught.
const password = `Pw-${randomBytes(9).toString('hex')}:@/#%?`;
const rotated = `Rot-${randomBytes(9).toString('hex')}`;

function secretString(pass = password): string {
  return JSON.stringify({ engine: 'postgres', host: 'localhost', port: proxy.port, username: role, password: pass, dbname: db.name });
}

beforeAll(async () => {
  db = await freshDatabase('secrets');
  const admin = await db.client();
  await admin.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
  await admin.query(`ALTER DATABASE "${db.name}" OWNER TO "${role}"`);
  await admin.query(`ALTER SCHEMA public OWNER TO "${role}"`);
  ca = makeTestCa();
  const server = new URL(adminUrl());
  proxy = await startTlsProxy({ host: server.hostname, port: Number(server.port) }, ca);
  for (const key of ['DATABASE_URL', 'DB_CLUSTER_IDENTIFIER', 'BACKUP_CHECK', 'HEALTH_URL', 'DB_TLS']) delete process.env[key];
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    DB_SECRET_ARN: SECRET_ARN,
    DB_CA_FILE: ca.caFile,
    DB_INSTANCE_IDENTIFIER: 'app-production',
    MIGRATIONS_DIR: writeMigrations(FOLDERS),
    ALARM_NAMES: 'api-5xx',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_METRICS_NAMESPACE: 'MigrationRunner',
  });
});

afterAll(async () => {
  await proxy.close();
  ca.remove();
  await db.drop();
  const admin = await freshDatabase('secrets_cleanup');
  const client = await admin.client();
  await client.query(`DROP ROLE IF EXISTS "${role}"`).catch(() => undefined);
  await admin.drop();
  mockClient(SecretsManagerClient).restore();
  mockClient(RDSClient).restore();
  mockClient(CloudWatchClient).restore();
});

describe('secrets never leak', () => {
  it('a full run over TLS with Secrets Manager credentials logs and returns neither the password nor the connection string', async () => {
    // Prepare
    const secrets = mockClient(SecretsManagerClient);
    secrets.on(GetSecretValueCommand).resolves({ ARN: SECRET_ARN, Name: 'app-production-db', SecretString: secretString() });
    const { cloudWatch } = mockRdsInstance();
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: 'OK', StateReason: 'ok' }] });
    const handlers: Record<string, Handler> = {
      preflight: await loadHandler('preflight'),
      apply: await loadHandler('apply'),
      backfill: await loadHandler('backfill'),
      verify: await loadHandler('verify'),
    };
    const results: unknown[] = [];
    const errors: unknown[] = [];
    const invoke = async (name: string, event: unknown) => {
      try {
        const result = await handlers[name](event, lambdaContext(name));
        results.push(result);
        return result as Record<string, unknown>;
      } catch (error) {
        const e = error as Error & { details?: unknown };
        errors.push({ name: e.name, message: e.message, stack: e.stack, details: e.details, cause: String((e as { cause?: unknown }).cause) });
        throw error;
      }
    };
    const output = captureOutput();
    const executionName = 'deploy-2026-11-24';
    try {
      // Act: the deploy path, a failure with its rollback, the operator actions, a rotated password.
      await invoke('preflight', { input: { action: 'deploy', dryRun: true }, executionName });
      const first = await invoke('apply', { command: 'deploy', executionName });
      const client = await db.client();
      await client.query('INSERT INTO "accounts" SELECT g, NULL FROM generate_series(1, 3000) g');
      let run = await invoke('backfill', { name: 'accounts_region', command: 'run', executionName });
      for (let i = 0; i < 20 && !run.done; i++) run = await invoke('backfill', { name: 'accounts_region', command: 'run', executionName });
      const failed = await thrown(() => invoke('apply', { command: 'deploy', executionName }));
      await invoke('apply', { command: 'rollback', migration: '20240103000000_broken', executionName });
      await invoke('apply', { command: 'blockers', executionName });
      await invoke('verify', { mode: 'alarms', executionName });
      const pendingVerify = await thrown(() => invoke('verify', { mode: 'verify', executionName }));
      // Rotation: the database and the secret change; the cached copy fails once and is re-read.
      await client.query(`ALTER ROLE "${role}" PASSWORD '${rotated}'`);
      secrets.on(GetSecretValueCommand).resolves({ SecretString: secretString(rotated) });
      const afterRotation = await invoke('apply', { command: 'blockers', executionName: 'after-rotation' });
      // The database changes again but the secret does not: a clean, secret-free failure.
      await client.query(`ALTER ROLE "${role}" PASSWORD '${password}-unknown'`);
      const wrongPassword = await thrown(() => invoke('apply', { command: 'blockers', executionName: 'after-rotation' }));
      output.restore();

      // Assess: the run did what it should (so the captured output is the real thing)...
      expect(first).toMatchObject({ status: 'barrier', barrier: { backfill: 'accounts_region' } });
      expect(run).toMatchObject({ status: 'done', rowsDone: 3000 });
      expect(failed.name).toBe('MigrationFailedError');
      expect(pendingVerify.name).toBe('VerificationFailedError'); // the rolled-back migration is pending again
      expect(afterRotation).toMatchObject({ command: 'blockers', terminated: [] });
      expect(wrongPassword.name).toBe('DatabaseConnectionError');
      expect(wrongPassword.message).toContain(`the provided database credentials for \`${role}\` are not valid`);
      const logs = output.json();
      expect(logs.filter((l) => l.level !== undefined).length).toBeGreaterThanOrEqual(15);
      expect(logs.some((l) => l.executionName === executionName && l.migration === '20240103000000_broken')).toBe(true);
      expect(logs.some((l) => l._aws !== undefined)).toBe(true); // EMF metrics were emitted too
      // ...and the secret is nowhere: not raw, not URL-encoded, no connection URL at all.
      const everything = [...output.lines, JSON.stringify(results), JSON.stringify(errors)].join('\n');
      expect(everything.length).toBeGreaterThan(10_000);
      for (const needle of [password, encodeURIComponent(password), password.slice(0, 21), rotated, 'postgresql://', 'postgres://']) {
        expect(everything).not.toContain(needle);
      }
      // One Secrets Manager read per function container, plus one re-read after each authentication failure.
      expect(secrets.commandCalls(GetSecretValueCommand).length).toBe(4 + 2);
    } finally {
      output.restore();
    }
  });

  it('refuses a server whose certificate the trusted CAs did not sign (verify-full)', async () => {
    // Prepare: trust the RDS bundle only; the proxy's certificate comes from the test CA.
    const secrets = mockClient(SecretsManagerClient);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: secretString() });
    const saved = process.env.DB_CA_FILE;
    delete process.env.DB_CA_FILE;
    const apply = await loadHandler('apply');
    const output = captureOutput();
    try {
      // Act
      const error = await thrown(() => apply({ command: 'blockers' }, lambdaContext('apply')));
      output.restore();
      // Assess
      expect(error.name).toBe('DatabaseConnectionError');
      expect(error.message).toMatch(/Can't reach database server at `localhost:\d+` \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/);
      expect(error.message).not.toContain(password);
    } finally {
      output.restore();
      process.env.DB_CA_FILE = saved;
    }
  });
});
