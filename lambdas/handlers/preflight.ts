/** Preflight Lambda: status, lint with live table sizes, health, backups, blockers -> the plan (or a named refusal). */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parseEvent, preflightEventSchema, type PreflightResult, type PreflightValidation } from '../core/contracts';
import { parseExecutionInput } from '../core/execution-input';
import { runPreflight } from '../core/preflight';
import { handlerConfig } from './shared/config';
import { preflightApis } from './shared/aws-apis';
import { migrations, withSession } from './shared/deps';
import { coreLogger, lambdaHandler, metrics, tagInvocation } from './shared/powertools';

export const handler = lambdaHandler('preflight', async (raw): Promise<PreflightResult | PreflightValidation> => {
  const event = parseEvent(preflightEventSchema, raw, 'preflight');
  const input = parseExecutionInput(event.input);
  tagInvocation('preflight', event.executionName);
  // Validate-only returns before the configuration, the migrations folder and the connector are
  // touched: it runs ahead of one-call actions (blockers above all) that must not wait on, or open,
  // a database session, nor fetch the secret.
  if (event.mode === 'validate') return { valid: true, action: input.action };
  const config = handlerConfig();
  const local = await migrations(config.migrationsDir);
  const plan = await withSession({ step: 'preflight', executionName: event.executionName }, (db) =>
    runPreflight({ db, migrations: local, ...preflightApis, logger: coreLogger }, input, event.executionName, {
      health: { ...config, instanceIdentifier: config.clusterIdentifier ? undefined : config.instanceIdentifier },
      backup: { ...config, maxRestorableAgeMinutes: config.backupMaxAgeMinutes, maxSnapshotAgeHours: config.snapshotMaxAgeHours, skip: config.backupCheck === 'skip' },
      snapshotPolicy: config.snapshotPolicy,
      approvalPolicy: config.approvalPolicy,
      snapshotPrefix: config.snapshotPrefix,
      pgVersion: config.pgVersion,
    }),
  );
  metrics.addMetric('PendingMigrations', MetricUnit.Count, plan.pending.length);
  metrics.addMetric('DangerousMigrations', MetricUnit.Count, plan.verdicts.filter((v) => v.verdict === 'dangerous').length);
  return plan;
});
