import { applicationName, connectionSettingsFromEnv } from '../../../lambdas/adapters/connection';
import { credentialsToUrl, parseDatabaseSecret, SecretCache } from '../../../lambdas/adapters/secrets';
import { retryThrottled } from '../../../lambdas/adapters/aws-clients';
import { tlsOptions, RDS_CA_COUNT } from '../../../lambdas/adapters/tls';
import { DatabaseConnectionError, InputValidationError } from '../../../lambdas/core/errors';
import type { Clock } from '../../../lambdas/core/ports';

const PASSWORD = 'pa:ss@w/rd#1';

function fakeClock(start = 0): Clock & { advance(ms: number): void; slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return { now: () => new Date(now), sleep: async (ms) => void slept.push(ms), advance: (ms) => void (now += ms), slept };
}

describe('parseDatabaseSecret', () => {
  it('reads an RDS secret and builds a URL with the credentials encoded', () => {
    // Prepare
    const secret = JSON.stringify({ engine: 'postgres', host: 'db.example', port: 5433, username: 'app', password: PASSWORD, dbname: 'shop' });
    // Act
    const parsed = parseDatabaseSecret(secret, 'arn:secret');
    // Assess
    expect(parsed).toEqual({ kind: 'fields', credentials: { host: 'db.example', port: 5433, username: 'app', password: PASSWORD, dbname: 'shop' } });
    expect(credentialsToUrl((parsed as unknown as { credentials: never }).credentials)).toBe('postgresql://app:pa%3Ass%40w%2Frd%231@db.example:5433/shop');
  });

  it('fills host, port and dbname of an RDS-managed master secret (username and password only) from defaults', () => {
    // Act
    const parsed = parseDatabaseSecret(JSON.stringify({ username: 'postgres', password: PASSWORD }), 'arn:secret', { host: 'writer.example', port: 5432, dbname: 'app' });
    // Assess
    expect(parsed).toEqual({ kind: 'fields', credentials: { host: 'writer.example', port: 5432, username: 'postgres', password: PASSWORD, dbname: 'app' } });
  });

  it.each([
    ['a URL secret', 'postgresql://u:p@h/d', { kind: 'url', url: 'postgresql://u:p@h/d' }],
    ['a JSON url field', JSON.stringify({ url: 'postgres://u:p@h/d' }), { kind: 'url', url: 'postgres://u:p@h/d' }],
  ])('accepts %s', (_case, text, expected) => {
    // Act + Assess
    expect(parseDatabaseSecret(text, 'arn:secret')).toEqual(expected);
  });

  it.each([
    ['not JSON', `{"password": "${PASSWORD}"`, /secret arn:secret is neither JSON nor a postgresql:\/\/ URL/],
    ['missing fields', JSON.stringify({ password: PASSWORD }), /secret arn:secret lacks host \(or DB_HOST\), username/],
    ['a bad port', JSON.stringify({ host: 'h', username: 'u', password: PASSWORD, port: 99999 }), /invalid port/],
  ])('rejects %s without quoting the secret', (_case, text, message) => {
    // Act
    const attempt = () => parseDatabaseSecret(text, 'arn:secret');
    // Assess
    expect(attempt).toThrow(DatabaseConnectionError);
    expect(attempt).toThrow(message);
    let text2 = '';
    try {
      attempt();
    } catch (error) {
      text2 = String((error as Error).message);
    }
    expect(text2).not.toContain(PASSWORD);
  });
});

describe('SecretCache', () => {
  it('reads a secret once per time-to-live, again after expiry or invalidation, and never caches a failure', async () => {
    // Prepare
    const clock = fakeClock();
    let calls = 0;
    let fail = true;
    const cache = new SecretCache(async () => {
      calls++;
      if (fail) throw new Error('AccessDenied');
      return `v${calls}`;
    }, 60_000, clock);
    // Act
    const failed = await cache.get('s').catch((e: Error) => e.message);
    fail = false;
    const first = await cache.get('s');
    const cached = await cache.get('s');
    clock.advance(60_001);
    const expired = await cache.get('s');
    cache.invalidate('s');
    const invalidated = await cache.get('s');
    // Assess
    expect([failed, first, cached, expired, invalidated]).toEqual(['AccessDenied', 'v2', 'v2', 'v3', 'v4']);
    expect(calls).toBe(4);
  });
});

describe('connectionSettingsFromEnv', () => {
  it('uses the secret with TLS always required, and host fallbacks', () => {
    // Act
    const settings = connectionSettingsFromEnv({ DB_SECRET_ARN: 'arn:s', DB_HOST: 'writer', DB_PORT: '5432', DB_NAME: 'app' });
    // Assess
    expect(settings).toEqual({ source: { kind: 'secret', secretId: 'arn:s', defaults: { host: 'writer', port: 5432, dbname: 'app' } }, tls: 'require', caFile: undefined, connectTimeoutMs: 10_000 });
  });

  it.each([
    ['a loopback URL', { DATABASE_URL: 'postgresql://u@127.0.0.1:5432/d' }, 'disable'],
    ['a remote URL', { DATABASE_URL: 'postgresql://u@db.example:5432/d' }, 'require'],
    ['a remote URL with TLS disabled explicitly', { DATABASE_URL: 'postgresql://u@db.example/d', DB_TLS: 'disable' }, 'disable'],
  ])('chooses TLS for %s', (_case, env, tls) => {
    // Act + Assess
    expect(connectionSettingsFromEnv(env).tls).toBe(tls);
  });

  it.each([
    ['both sources', { DB_SECRET_ARN: 'a', DATABASE_URL: 'postgresql://h/d' }, /either DB_SECRET_ARN or DATABASE_URL/],
    ['no source', {}, /no database configured/],
    ['TLS disabled with a secret', { DB_SECRET_ARN: 'a', DB_TLS: 'disable' }, /only allowed with a local DATABASE_URL/],
    ['a bad TLS value', { DATABASE_URL: 'postgresql://h/d', DB_TLS: 'prefer' }, /DB_TLS must be one of require, disable/],
    ['a bad timeout', { DATABASE_URL: 'postgresql://h/d', DB_CONNECT_TIMEOUT_MS: '5' }, /DB_CONNECT_TIMEOUT_MS/],
  ])('fails closed on %s', (_case, env, message) => {
    // Act
    const attempt = () => connectionSettingsFromEnv(env);
    // Assess
    expect(attempt).toThrow(InputValidationError);
    expect(attempt).toThrow(message);
  });
});

describe('applicationName and TLS', () => {
  it.each([
    [{ step: 'apply-deploy', executionName: 'deploy-42' }, 'mr:apply-deploy:deploy-42'],
    [{ step: 'verify' }, 'mr:verify'],
    [{ step: 'apply', executionName: `x${'é'.repeat(3)}${'y'.repeat(80)}` }, `mr:apply:x___${'y'.repeat(50)}`],
  ])('names the session %j as %s (printable, at most 63 bytes)', (label, expected) => {
    // Act + Assess
    expect(applicationName(label)).toBe(expected);
    expect(Buffer.byteLength(applicationName(label))).toBeLessThanOrEqual(63);
  });

  it('verifies certificates against the RDS CA bundle, or a given CA', () => {
    // Act
    const rds = tlsOptions('require');
    const custom = tlsOptions('require', 'PEM');
    // Assess
    expect(RDS_CA_COUNT).toBeGreaterThan(50);
    expect(rds).toMatchObject({ rejectUnauthorized: true });
    expect((rds as { ca: string[] }).ca).toHaveLength(RDS_CA_COUNT);
    expect(custom).toEqual({ ca: 'PEM', rejectUnauthorized: true });
    expect(tlsOptions('disable')).toBe(false);
  });
});

describe('retryThrottled', () => {
  const throttle = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

  it('retries throttling with backoff and returns the eventual answer', async () => {
    // Prepare
    const clock = fakeClock();
    let calls = 0;
    // Act
    const result = await retryThrottled(async () => (++calls < 3 ? Promise.reject(throttle()) : 'ok'), { clock, baseDelayMs: 100 });
    // Assess
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(clock.slept).toHaveLength(2);
    expect(clock.slept[1]).toBeLessThanOrEqual(200);
  });

  it('does not retry other errors, and gives up after the attempts', async () => {
    // Prepare
    const clock = fakeClock();
    let calls = 0;
    // Act
    const denied = await retryThrottled(async () => {
      calls++;
      throw Object.assign(new Error('no'), { name: 'AccessDeniedException' });
    }, { clock }).catch((e: Error) => e.name);
    const throttled = await retryThrottled(async () => Promise.reject(throttle()), { clock, attempts: 3 }).catch((e: Error) => e.name);
    // Assess
    expect(denied).toBe('AccessDeniedException');
    expect(calls).toBe(1);
    expect(throttled).toBe('ThrottlingException');
    expect(clock.slept).toHaveLength(2);
  });
});
