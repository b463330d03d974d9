import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlarmsResult, VerifyResult } from '../../../lambdas/core/contracts';
import { freshDatabase, type TestDatabase } from '../../helpers/database';
import { throttling } from './support/aws-mocks';
import { lambdaContext, loadHandler, localEnv, thrown, writeMigrations, type Handler } from './support/lambda';
import { captureOutput, type CapturedOutput } from './support/output';

const USERS = { '20240101000000_users': { 'migration.sql': 'CREATE TABLE "users" ("id" BIGINT PRIMARY KEY, "email" TEXT, "status" TEXT);\n' } };

let db: TestDatabase;
let apply: Handler;
let verify: Handler;
let output: CapturedOutput;
let health: Server;
let healthStatus = 200;
let healthUrl: string;

async function sql(text: string): Promise<Record<string, unknown>[]> {
  const client = await db.client();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  localEnv('postgresql://unused@127.0.0.1:1/unused', writeMigrations({}));
  apply = await loadHandler('apply');
  verify = await loadHandler('verify');
  health = createServer((_req, res) => res.writeHead(healthStatus).end('ok'));
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/healthz?token=abc123`;
});

afterAll(async () => {
  await new Promise((resolve) => health.close(resolve));
});

beforeEach(async () => {
  db = await freshDatabase('verify');
  healthStatus = 200;
  output = captureOutput();
});

afterEach(async () => {
  output.restore();
  mockClient(CloudWatchClient).restore();
  await db.drop();
});

async function deployed(folders: Parameters<typeof writeMigrations>[0], extra: Record<string, string> = {}): Promise<void> {
  localEnv(db.url, writeMigrations(folders), { ALARM_NAMES: 'api-5xx,api-latency', HEALTH_URL: healthUrl, ...extra });
  await apply({ command: 'deploy' }, lambdaContext('apply'));
}

describe('verify handler: mode verify', () => {
  it('passes a clean deploy and returns the alarms to watch', async () => {
    // Prepare
    await deployed({
      ...USERS,
      '20240102000000_checked': {
        'migration.sql': 'ALTER TABLE "users" ADD CONSTRAINT "users_email_check" CHECK ("email" <> \'\') NOT VALID;\nALTER TABLE "users" VALIDATE CONSTRAINT "users_email_check";\n',
        'verify.sql': `SELECT count(*) = 0 FROM "users" WHERE "email" = '';\nSELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'users_email_check' AND convalidated);\n`,
      },
    });
    // Act
    const result = (await verify({ mode: 'verify', since: new Date(Date.now() - 60_000).toISOString() }, lambdaContext('verify'))) as VerifyResult;
    // Assess
    expect(result.ok).toBe(true);
    expect(result.alarmNames).toEqual(['api-5xx', 'api-latency']);
    expect(result.checks.map((c) => [c.name, c.ok])).toEqual([
      ['status-clean', true],
      ['no-invalid-indexes', true],
      ['no-not-valid-constraints', true],
      ['verify-sql', true],
      ['health-url', true],
    ]);
    // The health URL's query string (a token) is never echoed.
    expect(JSON.stringify(result)).not.toContain('abc123');
  });

  it.each([
    [
      'an INVALID index',
      async () => {
        await sql(`INSERT INTO "users" VALUES (1, 'a@x', 'x'), (2, 'a@x', 'y')`);
        await sql(`CREATE UNIQUE INDEX CONCURRENTLY "users_email_key" ON "users" ("email")`).catch(() => undefined);
      },
      'no-invalid-indexes',
      /INVALID: "?public"?\."?users_email_key"? on users/,
    ],
    ['a pending migration', async () => undefined, 'status-clean', /pending: 20240103000000_later/],
    ['a failing verify.sql', async () => sql(`INSERT INTO "users" VALUES (3, '', 'x')`), 'verify-sql', /20240102000000_check\/verify.sql line 1 returned false/],
    ['a health URL answering 503', async () => void (healthStatus = 503), 'health-url', /http:\/\/127\.0\.0\.1:\d+\/healthz answered 503/],
  ])('fails on %s with VerificationFailedError naming the check', async (_case, breakIt, check, detail) => {
    // Prepare
    await deployed({
      ...USERS,
      '20240102000000_check': { 'migration.sql': 'SELECT 1;\n', 'verify.sql': `SELECT count(*) = 0 FROM "users" WHERE "email" = '';\n` },
    });
    await breakIt();
    if (check === 'status-clean') writeMigrations({ '20240103000000_later': { 'migration.sql': 'SELECT 1;\n' } }, process.env.MIGRATIONS_DIR);
    // Act
    const error = await thrown(() => verify({ mode: 'verify' }, lambdaContext('verify')));
    // Assess
    expect(error.name).toBe('VerificationFailedError');
    expect(error.details!.failed).toEqual([check]);
    expect(error.message).toMatch(detail);
  });

  it('fails when a NOT VALID constraint added by this deploy was never validated', async () => {
    // Prepare
    await deployed({
      ...USERS,
      '20240102000000_status_check': { 'migration.sql': 'ALTER TABLE "users" ADD CONSTRAINT "users_status_nn" CHECK ("status" IS NOT NULL) NOT VALID;\n' },
    });
    // Act
    const error = await thrown(() => verify({ mode: 'verify', since: new Date(Date.now() - 60_000).toISOString() }, lambdaContext('verify')));
    const older = (await verify({ mode: 'verify', since: new Date(Date.now() + 60_000).toISOString() }, lambdaContext('verify'))) as VerifyResult;
    // Assess
    expect(error.name).toBe('VerificationFailedError');
    expect(error.message).toContain('users_status_nn on users (added by 20240102000000_status_check)');
    // A deploy that started later did not add it: not its business.
    expect(older.checks.find((c) => c.name === 'no-not-valid-constraints')!.ok).toBe(true);
  });
});

describe('verify handler: mode alarms', () => {
  const alarm = (name: string, state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA') => ({
    AlarmName: name,
    StateValue: state,
    StateReason: state === 'ALARM' ? 'Threshold Crossed: 3 datapoints [52.0, 61.0, 58.0] were greater than the threshold (10.0).' : 'ok',
    StateUpdatedTimestamp: new Date('2026-01-01T10:00:00Z'),
  });

  it('reports ALARM with the firing alarm and its reason', async () => {
    // Prepare
    localEnv(db.url, writeMigrations(USERS), { ALARM_NAMES: 'api-5xx,api-latency,gone' });
    const cloudWatch = mockClient(CloudWatchClient);
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm('api-5xx', 'ALARM'), alarm('api-latency', 'OK')], CompositeAlarms: [] });
    // Act
    const result = (await verify({ mode: 'alarms', executionName: 'exec-1' }, lambdaContext('verify'))) as AlarmsResult;
    // Assess
    expect(result).toEqual({
      mode: 'alarms',
      state: 'ALARM',
      firing: [{ name: 'api-5xx', reason: expect.stringContaining('Threshold Crossed'), since: '2026-01-01T10:00:00.000Z' }],
      missing: ['gone'],
    });
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand)[0].args[0].input).toMatchObject({ AlarmNames: ['api-5xx', 'api-latency', 'gone'], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] });
  });

  it('reports OK when nothing fires, after retrying a throttled call', async () => {
    // Prepare
    localEnv(db.url, writeMigrations(USERS));
    const cloudWatch = mockClient(CloudWatchClient);
    cloudWatch.on(DescribeAlarmsCommand).rejectsOnce(throttling()).resolves({ MetricAlarms: [alarm('api-5xx', 'OK')], CompositeAlarms: [alarm('checkout', 'INSUFFICIENT_DATA')] });
    // Act
    const result = (await verify({ mode: 'alarms', alarmNames: ['api-5xx', 'checkout'] }, lambdaContext('verify'))) as AlarmsResult;
    // Assess
    expect(result).toEqual({ mode: 'alarms', state: 'OK', firing: [], missing: [] });
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(2);
  });
});
