/** The verify handler: post-deploy checks (mode verify) or one look at the CloudWatch alarms (mode alarms). */
import { parseEvent, verifyHandlerEventSchema, type VerifyHandlerResult } from '../../core/contracts';
import { checkAlarms, verifyDeploy } from '../../core/verify';
import { withSession, type VerifyDeps } from '../ports';

const DAY_MS = 24 * 3600 * 1000;

export function createVerifyHandler(deps: VerifyDeps) {
  return async (raw: unknown): Promise<VerifyHandlerResult> => {
    const event = parseEvent(verifyHandlerEventSchema, raw, 'verify');
    const config = deps.config();
    deps.annotate({ step: `verify-${event.mode}`, executionName: event.executionName });
    if (event.mode === 'alarms') {
      const result = await checkAlarms(deps.alarms, event.alarmNames ?? config.alarmNames);
      deps.metric('AlarmsFiring', result.firing.length);
      return result;
    }
    const local = await deps.migrations(config.migrationsDir);
    const since = event.since ? new Date(event.since) : new Date(Date.now() - DAY_MS);
    return withSession(deps, { step: 'verify', executionName: event.executionName }, (db) =>
      verifyDeploy(db, local, { since, healthUrl: config.healthUrl, healthTimeoutMs: config.healthTimeoutMs, alarmNames: config.alarmNames }, deps.http, deps.logger),
    );
  };
}
