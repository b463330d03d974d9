/**
 * Invokes a bundled handler exactly as the Lambda runtime does: `handler(event, context)` with a
 * context whose remaining time counts down. Also: migration folder fixtures and an environment
 * for local runs.
 */
import type { Context } from 'aws-lambda';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundled, type HandlerName } from './bundle';

export type Handler = (event: unknown, context: Context) => Promise<unknown>;

export async function loadHandler(name: HandlerName): Promise<Handler> {
  const { file } = await bundled(name);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { handler: Handler }).handler;
}

let requests = 0;
export function lambdaContext(functionName: string, timeoutMs = 900_000): Context {
  const deadline = Date.now() + timeoutMs;
  requests++;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `00000000-0000-4000-8000-${String(requests).padStart(12, '0')}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/01/01/[$LATEST]test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface MigrationFiles {
  readonly 'migration.sql': string;
  readonly 'rollback.sql'?: string;
  readonly 'backfill.json'?: string;
  readonly 'verify.sql'?: string;
}

/** Writes a Prisma migrations folder; returns its path. */
export function writeMigrations(folders: Record<string, MigrationFiles>, dir = mkdtempSync(join(tmpdir(), 'mr-handlers-'))): string {
  writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  for (const [name, files] of Object.entries(folders)) {
    mkdirSync(join(dir, name), { recursive: true });
    for (const [file, text] of Object.entries(files)) if (text !== undefined) writeFileSync(join(dir, name, file), text);
  }
  return dir;
}

/** The environment of a local run (plain DATABASE_URL, no TLS) against `databaseUrl`. */
export function localEnv(databaseUrl: string, migrationsDir: string, extra: Record<string, string> = {}): void {
  for (const key of ['DB_SECRET_ARN', 'DB_CLUSTER_IDENTIFIER', 'DB_INSTANCE_IDENTIFIER', 'BACKUP_CHECK', 'HEALTH_URL', 'ALARM_NAMES', 'DB_CA_FILE', 'DB_TLS']) delete process.env[key];
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    DATABASE_URL: databaseUrl,
    MIGRATIONS_DIR: migrationsDir,
    DB_INSTANCE_IDENTIFIER: 'app-production',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...extra,
  });
}

/** Runs `fn` and returns what it threw (fails the test if nothing was thrown). */
export async function thrown(fn: () => Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    await fn();
  } catch (error) {
    return error as Error & { code?: string; details?: Record<string, unknown> };
  }
  throw new Error('expected a rejection, but the call succeeded');
}
