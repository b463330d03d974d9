/**
 * Failure branch of migration.asl.json, executed offline with the real handlers: rollback.sql,
 * notification, automatic point-in-time restore (instance and Aurora), an alarm firing while the
 * deploy is monitored.
 */
import { columnsOf, expectSucceeded, INIT, migrationRows, scenario, type Scenario } from './harness';

const FAILING_NAME = '20240102000000_add_index_then_fail';
/** A mixed file: the CONCURRENTLY index commits alone, then the next statement fails. */
const FAILING = {
  [FAILING_NAME]: {
    sql: 'CREATE INDEX CONCURRENTLY "users_email_idx" ON "users" ("email");\nALTER TABLE "no_such_table" ADD COLUMN "x" INTEGER;\n',
    rollback: 'DROP INDEX IF EXISTS "users_email_idx";\n',
  },
};

let s: Scenario | undefined;
afterEach(async () => {
  await s?.dispose();
  s = undefined;
});

describe('failure branch', () => {
  it('migration failure: records it, runs rollback.sql, marks the row rolled back, notifies, fails', async () => {
    s = await scenario(INIT);
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    s.folder.add(FAILING);
    const result = await s.executor.run({ action: 'deploy' }, 'failing');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('MigrationFailedError');
    expect(result.cause).toContain(FAILING_NAME);
    expect(result.states).toEqual(expect.arrayContaining(['RecordFailure', 'FindFailedMigration', 'ApplyRollback', 'NotifyFailure', 'DeployFailed']));
    expect(result.states).not.toContain('RollbackNotApplied');
    expect(s.executor.notifications.at(-1)).toMatchObject({ subject: 'migration-runner: deploy FAILED' });
    expect(s.executor.notifications.at(-1)?.message).toContain('"applied":true');
    const rows = await migrationRows(s);
    expect(rows.map((r) => [r.migration_name, r.finished_at === null, r.rolled_back_at !== null])).toEqual([
      ['20240101000000_init', false, false],
      [FAILING_NAME, true, true],
    ]);
    expect(await s.query("SELECT indexname FROM pg_indexes WHERE indexname = 'users_email_idx'")).toEqual([]);
    expect(s.executor.rds.instances.size).toBe(0);
  });

  it('failure without rollback.sql: notifies that no rollback ran, leaves the failed row for resolve', async () => {
    s = await scenario(INIT);
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    s.folder.add({ '20240102000000_broken': { sql: 'ALTER TABLE "no_such_table" ADD COLUMN "x" INTEGER;\n' } });
    const result = await s.executor.run({ action: 'deploy' }, 'broken');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('MigrationFailedError');
    expect(result.states).toContain('RollbackNotApplied');
    const rows = await migrationRows(s);
    expect(rows.map((r) => [r.migration_name, r.finished_at === null, r.rolled_back_at])).toEqual([
      ['20240101000000_init', false, null],
      ['20240102000000_broken', true, null],
    ]);
  });

  it.each(['instance', 'cluster'] as const)('automatic restore on failure (%s): a NEW database at the pre-deploy point; the source untouched', async (kind) => {
    s = await scenario(INIT, { onFailure: 'restore', kind });
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    await s.query("INSERT INTO users (email) VALUES ('before@example.com')");
    s.folder.add({ '20240102000000_add_then_fail': { sql: 'ALTER TABLE "users" ADD COLUMN "status" TEXT;\nCREATE INDEX CONCURRENTLY "users_status_idx" ON "users" ("status");\nALTER TABLE "no_such_table" ADD COLUMN "x" INTEGER;\n' } });
    const result = await s.executor.run({ action: 'deploy' }, 'failing-restore');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('MigrationFailedError');
    expect(result.cause).toMatch(/point-in-time copy from before the deploy is available as app-test-pitr-[0-9a-f]{32} at /);
    const restoreStates = kind === 'cluster' ? ['RestoreClusterToTime', 'CreateRestoredClusterInstance'] : ['RestoreInstanceToTime'];
    expect(result.states).toEqual(expect.arrayContaining([...restoreStates, 'RestoreSucceeded', 'NotifyRestore', 'DeployFailedAfterRestore']));
    const target = /available as (app-test-pitr-[0-9a-f]{32})/.exec(result.cause!)![1];
    const resources = kind === 'cluster' ? s.executor.rds.clusters : s.executor.rds.instances;
    const restored = resources.get(target)!.database;
    // the copy is from before the deploy: no status column, the row inserted before is there
    expect(await columnsOf(s, 'users', restored)).toEqual(['id', 'email', 'legacy']);
    expect(await s.query('SELECT email FROM users', [], restored)).toEqual([{ email: 'before@example.com' }]);
    // the source keeps what the failed migration committed (status column): it was not touched
    expect(await columnsOf(s, 'users')).toEqual(['id', 'email', 'legacy', 'status']);
    expect([...s.executor.rds.instances.keys()]).toEqual([kind === 'cluster' ? `${target}-1` : target]);
    expect(s.executor.notifications.map((n) => n.subject)).toEqual(expect.arrayContaining(['migration-runner: deploy FAILED', 'migration-runner: restore available']));
  });

  it('an alarm firing while monitoring fails the deploy through the failure branch', async () => {
    s = await scenario(INIT, { alarms: { names: ['app-5xx', 'app-latency'], firingAt: (check) => (check >= 2 ? ['app-5xx'] : []) } });
    const result = await s.executor.run({ action: 'deploy', monitorMinutes: 5 }, 'alarm');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('VerificationFailedError');
    expect(result.cause).toContain('app-5xx');
    expect(result.cause).not.toContain('app-latency');
    expect(s.executor.alarmChecks).toBe(2);
    expect(result.states.filter((name) => name === 'DescribeAlarms')).toHaveLength(2);
    expect(result.states).toEqual(expect.arrayContaining(['AlarmFired', 'RecordFailure', 'NotifyFailure', 'DeployFailed']));
    // the migration itself succeeded and stays applied; nothing is recorded as failed
    expect((await migrationRows(s)).map((r) => [r.migration_name, r.finished_at !== null])).toEqual([['20240101000000_init', true]]);
  });

  it('monitoring with quiet alarms: watches monitorMinutes checks, then succeeds', async () => {
    s = await scenario(INIT, { alarms: { names: ['app-5xx'] } });
    const result = await s.executor.run({ action: 'deploy', monitorMinutes: 3 }, 'quiet');

    expectSucceeded(result);
    expect(s.executor.alarmChecks).toBe(3);
    expect(result.output).toMatchObject({ monitoredMinutes: 3 });
  });
});
