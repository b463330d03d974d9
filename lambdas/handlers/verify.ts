/** Verify Lambda: post-deploy checks (mode verify) or one look at the CloudWatch alarms (mode alarms). */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parseEvent, verifyHandlerEventSchema, type VerifyHandlerResult } from '../core/contracts';
import { checkAlarms, verifyDeploy } from '../core/verify';
import { handlerConfig } from './shared/config';
import { verifyApis } from './shared/aws-apis';
import { migrations, withSession } from './shared/deps';
import { coreLogger, lambdaHandler, metrics, tagInvocation } from './shared/powertools';

const DAY_MS = 24 * 3600 * 1000;

export const handler = lambdaHandler('verify', async (raw): Promise<VerifyHandlerResult> => {
  const event = parseEvent(verifyHandlerEventSchema, raw, 'verify');
  const config = handlerConfig();
  tagInvocation(`verify-${event.mode}`, event.executionName);
  if (event.mode === 'alarms') {
    const result = await checkAlarms(verifyApis.alarms, event.alarmNames ?? config.alarmNames);
    metrics.addMetric('AlarmsFiring', MetricUnit.Count, result.firing.length);
    return result;
  }
  const local = await migrations(config.migrationsDir);
  const since = event.since ? new Date(event.since) : new Date(Date.now() - DAY_MS);
  return withSession({ step: 'verify', executionName: event.executionName }, (db) =>
    verifyDeploy(db, local, { since, healthUrl: config.healthUrl, healthTimeoutMs: config.healthTimeoutMs, alarmNames: config.alarmNames }, verifyApis.http, coreLogger),
  );
});
