/** The preflight handler: status, lint with live table sizes, health, backups, blockers -> the plan (or a named refusal). */
import { parseEvent, preflightEventSchema, type PreflightResult, type PreflightValidation } from '../../core/contracts';
import { parseExecutionInput } from '../../core/execution-input';
import { runPreflight } from '../../core/preflight';
import { withSession, type PreflightDeps } from '../ports';

export function createPreflightHandler(deps: PreflightDeps) {
  return async (raw: unknown): Promise<PreflightResult | PreflightValidation> => {
    const event = parseEvent(preflightEventSchema, raw, 'preflight');
    const input = parseExecutionInput(event.input);
    deps.annotate({ step: 'preflight', executionName: event.executionName });
    // Validate-only returns before the configuration, the migrations folder and the sessions are
    // touched: it runs ahead of one-call actions (blockers above all) that must not wait on, or open,
    // a database session, nor fetch the secret.
    if (event.mode === 'validate') return { valid: true, action: input.action };
    const config = deps.config();
    const local = await deps.migrations(config.migrationsDir);
    const plan = await withSession(deps, { step: 'preflight', executionName: event.executionName }, (db) =>
      runPreflight({ db, migrations: local, rds: deps.rds, storage: deps.storage, logger: deps.logger }, input, event.executionName, {
        health: { ...config, instanceIdentifier: config.clusterIdentifier ? undefined : config.instanceIdentifier },
        backup: { ...config, maxRestorableAgeMinutes: config.backupMaxAgeMinutes, maxSnapshotAgeHours: config.snapshotMaxAgeHours, skip: config.backupCheck === 'skip' },
        snapshotPolicy: config.snapshotPolicy,
        approvalPolicy: config.approvalPolicy,
        snapshotPrefix: config.snapshotPrefix,
        pgVersion: config.pgVersion,
      }),
    );
    deps.metric('PendingMigrations', plan.pending.length);
    deps.metric('DangerousMigrations', plan.verdicts.filter((v) => v.verdict === 'dangerous').length);
    return plan;
  };
}
