/**
 * One Powertools logger, metrics and tracer per container, and the middy stack every handler
 * uses: Lambda context in every log line (request id, cold start), keys reset per invocation,
 * EMF metrics flushed at the end, the invocation traced. Events are never logged whole.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { clientHooks } from '../../adapters/aws-clients';
import type { Logger as CoreLogger } from '../../core/ports';
import type { HandlerDeps } from '../ports';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'migration-runner';
export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'MigrationRunner' });
export const tracer = new Tracer({ serviceName });

// Every AWS SDK client is traced (no-op outside Lambda or with tracing disabled).
clientHooks.onCreate = (client) => void tracer.captureAWSv3Client(client as Parameters<typeof tracer.captureAWSv3Client>[0]);

/** The core's Logger port on top of Powertools (structured fields become keys). */
export const coreLogger: CoreLogger = {
  debug: (message, fields) => logger.debug(message, fields ?? {}),
  info: (message, fields) => logger.info(message, fields ?? {}),
  warn: (message, fields) => logger.warn(message, fields ?? {}),
  error: (message, fields) => logger.error(message, fields ?? {}),
};

/** The handlers' observability ports on Powertools: logs, EMF metrics, and keys on every log line. */
export const powertoolsPorts: Pick<HandlerDeps, 'logger' | 'metric' | 'annotate'> = {
  logger: coreLogger,
  metric: (name, count) => metrics.addMetric(name, MetricUnit.Count, count),
  annotate: ({ step, executionName, migration }) => {
    logger.appendKeys({ step, ...(executionName ? { executionName } : {}), ...(migration ? { migration } : {}) });
    if (executionName) tracer.putAnnotation('executionName', executionName);
  },
};

/** Logs a failure once (name and message only: never the event) and rethrows it for Step Functions. */
function logError(step: string) {
  return {
    onError: async (request: { error: unknown }) => {
      const error = request.error as { name?: string; message?: string; code?: string } | undefined;
      logger.error(`${step} failed`, { errorName: error?.name, code: error?.code, errorMessage: error?.message?.slice(0, 2000) });
    },
  };
}

/** The middy stack around a handler made by a factory. */
export function lambdaHandler<R>(step: string, fn: (event: unknown, context: Context) => Promise<R>) {
  return middy(fn)
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(logError(step));
}
