/** Preflight Lambda: status, lint with live table sizes, health, backups, blockers -> the plan (or a named refusal). */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parseEvent, preflightEventSchema, type PreflightResult } from '../core/contracts';
import { parseExecutionInput } from '../core/execution-input';
import { runPreflight } from '../core/preflight';
import { handlerConfig } from './shared/config';
import { preflightApis } from './shared/aws-apis';
import { migrations, withSession } from './shared/deps';
import { coreLogger, lambdaHandler, metrics, tagInvocation } from './shared/powertools';

export const handler = lambdaHandler('preflight', async (raw): Promise<PreflightResult> => {
  const event = parseEvent(preflightEventSchema, raw, 'preflight');
  const input = parseExecutionInput(event.input);
  const config = handlerConfig();
  tagInvocation('preflight', event.executionName);
  const local = await migrations(config.migrationsDir);
  const plan = await withSession({ step: 'preflight', executionName: event.executionName }, (db) =>
    runPreflight({ db, migrations: local, ...preflightApis, logger: coreLogger }, input, event.executionName, {
      health: { ...config, instanceIdentifier: config.clusterIdentifier ? undefined : config.instanceIdentifier },
      backup: { ...config, maxRestorableAgeMinutes: config.backupMaxAgeMinutes, maxSnapshotAgeHours: config.snapshotMaxAgeHours, skip: config.backupCheck === 'skip' },
      snapshotPolicy: config.snapshotPolicy,
      snapshotPrefix: config.snapshotPrefix,
      pgVersion: config.pgVersion,
    }),
  );
  metrics.addMetric('PendingMigrations', MetricUnit.Count, plan.pending.length);
  metrics.addMetric('DangerousMigrations', MetricUnit.Count, plan.verdicts.filter((v) => v.verdict === 'dangerous').length);
  return plan;
});
