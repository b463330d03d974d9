/**
 * The Secrets Manager client (created once per container, on first use) and the throttling retry
 * every AWS adapter uses: calls AWS throttles are retried a few times with jittered backoff on top
 * of the SDK's own attempts (preflight runs at the start of every deploy, often next to other
 * automation hammering the same APIs). RDS and CloudWatch clients live in rds.ts / cloudwatch.ts,
 * so a function that never calls them never loads their SDK packages (cold start).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DatabaseConnectionError } from '../core/errors';
import type { Clock } from '../core/ports';
import { systemClock } from '../core/ports';
import type { SecretFetcher } from './secrets';

let secretsClient: SecretsManagerClient | undefined;

/** Called with each client when it is created (the tracer instruments them). */
export const clientHooks: { onCreate?: (client: object) => void } = {};

export function secretsClientInstance(): SecretsManagerClient {
  if (!secretsClient) {
    secretsClient = new SecretsManagerClient({});
    clientHooks.onCreate?.(secretsClient);
  }
  return secretsClient;
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);

export function isThrottling(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return typeof name === 'string' && THROTTLING.has(name);
}

export interface RetryOptions {
  /** @default 4 */
  readonly attempts?: number;
  /** @default 200 */
  readonly baseDelayMs?: number;
  readonly clock?: Clock;
}

/** Runs `call`, retrying only throttling errors with full-jitter exponential backoff. */
export async function retryThrottled<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 200;
  const clock = options.clock ?? systemClock;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottling(error) || attempt >= attempts) throw error;
      await clock.sleep(Math.round(Math.random() * base * 2 ** (attempt - 1)));
    }
  }
}

/** Reads a secret string; errors name the secret id and the AWS error, never a value. */
export function secretsManagerFetcher(client: () => SecretsManagerClient = secretsClientInstance, retry: RetryOptions = {}): SecretFetcher {
  return async (secretId) => {
    try {
      const result = await retryThrottled(() => client().send(new GetSecretValueCommand({ SecretId: secretId })), retry);
      if (typeof result.SecretString !== 'string') throw new DatabaseConnectionError(`secret ${secretId} has no SecretString`);
      return result.SecretString;
    } catch (error) {
      if (error instanceof DatabaseConnectionError) throw error;
      const name = (error as { name?: string }).name ?? 'Error';
      throw new DatabaseConnectionError(`cannot read secret ${secretId}: ${name}`);
    }
  };
}
