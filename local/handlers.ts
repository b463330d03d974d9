/**
 * The four handlers as the local executor runs them: the same factories as the Lambda entries,
 * with ports over the executor's own environment object (never process.env) and the AWS control
 * plane answered by the executor's simulation through the real adapters (a `send` function in
 * place of each SDK client). local/executor.ts bundles this file with the Lambda bundling options
 * (lib/bundling.ts) and calls createLocalHandlers once per executor.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { RDSClient } from '@aws-sdk/client-rds';
import { alarmsApi, storageMetricsApi } from '../lambdas/adapters/cloudwatch';
import { fetchProbe } from '../lambdas/adapters/http';
import { rdsBackupApi } from '../lambdas/adapters/rds';
import { silentLogger, type Logger } from '../lambdas/core/ports';
import { createApplyHandler } from '../lambdas/handlers/factories/apply';
import { createBackfillHandler } from '../lambdas/handlers/factories/backfill';
import { createPreflightHandler } from '../lambdas/handlers/factories/preflight';
import { createVerifyHandler } from '../lambdas/handlers/factories/verify';
import type { InvocationContext } from '../lambdas/handlers/ports';
import { environmentDeps } from '../lambdas/handlers/shared/deps';

/** An AWS SDK command as the adapters build it: the executor answers by its class name. */
export interface SdkCommand {
  readonly constructor: { readonly name: string };
  readonly input: Record<string, unknown>;
}
export type SdkSend = (command: SdkCommand) => Promise<unknown>;

export interface LocalHandlerOptions {
  /** The functions' environment (what the construct sets, with local connection settings). */
  readonly env: Readonly<Record<string, string>>;
  /** Answers the RDS calls of preflight (DescribeDBInstances, DescribeDBSnapshots, ...). */
  readonly rdsSend: SdkSend;
  /** Answers the CloudWatch calls of preflight (free storage) and verify (alarms). */
  readonly cloudWatchSend: SdkSend;
  /** @default silent */
  readonly logger?: Logger;
}

export type LocalHandler = (event: unknown, context: InvocationContext) => Promise<unknown>;

export function createLocalHandlers(options: LocalHandlerOptions): Record<'preflight' | 'apply' | 'backfill' | 'verify', LocalHandler> {
  const deps = environmentDeps({ ...options.env }, { logger: options.logger ?? silentLogger, metric: () => undefined, annotate: () => undefined });
  const rds = () => ({ send: options.rdsSend }) as unknown as RDSClient;
  const cloudWatch = () => ({ send: options.cloudWatchSend }) as unknown as CloudWatchClient;
  // No throttling locally: one attempt, no backoff.
  const once = { attempts: 1 };
  return {
    preflight: createPreflightHandler({ ...deps, rds: rdsBackupApi(rds, once), storage: storageMetricsApi(cloudWatch, once) }),
    apply: createApplyHandler(deps),
    backfill: createBackfillHandler(deps),
    verify: createVerifyHandler({ ...deps, alarms: alarmsApi(cloudWatch, once), http: fetchProbe }),
  };
}
