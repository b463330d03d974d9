/**
 * The deploy flow of migration.asl.json executed offline (aws-local-stepfunctions) with the real
 * handlers against embedded PostgreSQL. Each test asserts the execution's outcome and the database.
 */
import { snapshotIdentifier } from '../../lambdas/core/preflight/snapshot-id';
import { columnsOf, expectSucceeded, INIT, migrationRows, scenario, type Scenario } from './harness';

const SAFE = {
  ...INIT,
  '20240102000000_add_status': { sql: 'ALTER TABLE "users" ADD COLUMN "status" TEXT;\n' },
};
const DANGEROUS_NAME = '20240103000000_drop_audit_log';
/** Dangerous whatever the table size: DROP TABLE of an existing table loses its data. */
const DANGEROUS = { [DANGEROUS_NAME]: { sql: 'DROP TABLE "audit_log";\n' } };

let s: Scenario | undefined;
afterEach(async () => {
  await s?.dispose();
  s = undefined;
});

async function seedAuditLog(target: Scenario, rows: number): Promise<void> {
  await target.query(`INSERT INTO audit_log (entry) SELECT 'entry ' || g FROM generate_series(1, ${rows}) g`);
}
const auditLogExists = async (target: Scenario, database?: string) => (await target.query("SELECT to_regclass('audit_log') IS NOT NULL AS ok", [], database))[0].ok;

describe('deploy', () => {
  it('safe deploy: applies every migration, takes no snapshot, verifies and notifies success', async () => {
    s = await scenario(SAFE);
    const result = await s.executor.run({ action: 'deploy' }, 'safe-deploy');

    expectSucceeded(result);
    expect(result.output).toMatchObject({ outcome: 'succeeded', action: 'deploy', nothingPending: false, pending: ['20240101000000_init', '20240102000000_add_status'], verdict: 'safe' });
    expect(result.states).toEqual(expect.arrayContaining(['RunPreflight', 'ApplyMigrations', 'VerifyDeploy', 'NotifySuccess']));
    expect(result.states).not.toContain('CreateInstanceSnapshot');
    expect(s.executor.rds.snapshots.size).toBe(0);
    expect(s.executor.notifications.map((n) => n.subject)).toEqual(['migration-runner: deploy succeeded']);
    const rows = await migrationRows(s);
    expect(rows.map((r) => [r.migration_name, r.finished_at !== null, r.rolled_back_at])).toEqual([
      ['20240101000000_init', true, null],
      ['20240102000000_add_status', true, null],
    ]);
    expect(await columnsOf(s, 'users')).toEqual(['id', 'email', 'legacy', 'status']);
  });

  it('nothing pending: goes straight to verify, applies nothing, skips monitoring', async () => {
    s = await scenario(SAFE, { alarms: { names: ['app-5xx'] }, monitorMinutes: 5 });
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'first'));
    const result = await s.executor.run({ action: 'deploy' }, 'second');

    expectSucceeded(result);
    expect(result.output).toMatchObject({ outcome: 'succeeded', nothingPending: true, pending: [], apply: null });
    expect(result.states).not.toContain('ApplyMigrations');
    expect(result.states).not.toContain('DescribeAlarms');
    expect(result.states).toContain('VerifyDeploy');
    expect(await migrationRows(s)).toHaveLength(2);
  });

  it('dangerous without approval: refused with the finding, notified, nothing applied', async () => {
    s = await scenario(INIT);
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    await seedAuditLog(s, 1000);
    s.folder.add(DANGEROUS);
    const result = await s.executor.run({ action: 'deploy' }, 'unapproved');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DangerousMigrationNotApprovedError');
    expect(result.cause).toContain(DANGEROUS_NAME);
    expect(result.states).not.toContain('ApplyMigrations');
    expect(s.executor.notifications.at(-1)?.subject).toBe('migration-runner: deploy refused');
    expect((await migrationRows(s)).map((r) => r.migration_name)).toEqual(['20240101000000_init']);
    expect(await auditLogExists(s)).toBe(true);
  });

  it('dangerous approved: takes a snapshot of the pre-deploy database first, then applies', async () => {
    s = await scenario(INIT);
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    await seedAuditLog(s, 1000);
    s.folder.add(DANGEROUS);
    const result = await s.executor.run({ action: 'deploy', approve: [DANGEROUS_NAME] }, 'approved-1');

    expectSucceeded(result);
    expect(result.output).toMatchObject({ outcome: 'succeeded', verdict: 'dangerous', snapshot: { status: 'available' } });
    const id = snapshotIdentifier('app-test-mr', 'approved-1', new Date());
    expect(result.output).toMatchObject({ snapshot: { identifier: id } });
    expect(result.states.indexOf('CreateInstanceSnapshot')).toBeLessThan(result.states.indexOf('ApplyMigrations'));
    expect(await auditLogExists(s)).toBe(false);
    // the snapshot holds the database as it was before the deploy
    const snapshotDb = s.executor.rds.snapshots.get(id)!.database;
    expect(await s.query('SELECT count(*)::int AS n FROM audit_log', [], snapshotDb)).toEqual([{ n: 1000 }]);
  });

  it('dangerous approved on Aurora: takes a cluster snapshot first', async () => {
    s = await scenario(INIT, { kind: 'cluster' });
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    await seedAuditLog(s, 10);
    s.folder.add(DANGEROUS);
    const result = await s.executor.run({ action: 'deploy', approve: [DANGEROUS_NAME] }, 'aurora-approved');

    expectSucceeded(result);
    expect(result.states).toEqual(expect.arrayContaining(['CreateClusterSnapshot', 'DescribeClusterSnapshot', 'ApplyMigrations']));
    expect(result.states).not.toContain('CreateInstanceSnapshot');
    const id = snapshotIdentifier('app-test-mr', 'aurora-approved', new Date());
    expect(await s.query('SELECT count(*)::int AS n FROM audit_log', [], s.executor.rds.snapshots.get(id)!.database)).toEqual([{ n: 10 }]);
    expect(await auditLogExists(s)).toBe(false);
  });

  it('snapshot already exists (re-driven execution): goes on to the poll loop and applies once', async () => {
    s = await scenario(INIT);
    expectSucceeded(await s.executor.run({ action: 'deploy' }, 'init'));
    s.folder.add(DANGEROUS);
    const id = snapshotIdentifier('app-test-mr', 'redriven', new Date());
    await s.executor.rds.preexistingSnapshot(id);
    const result = await s.executor.run({ action: 'deploy', approve: [DANGEROUS_NAME] }, 'redriven');

    expectSucceeded(result);
    expect(s.executor.rds.snapshots.size).toBe(1);
    expect(s.executor.rds.calls.filter((c) => c === `create-snapshot ${id}`)).toHaveLength(2);
    expect(result.states.slice(result.states.indexOf('CreateInstanceSnapshot'), result.states.indexOf('CreateInstanceSnapshot') + 2)).toEqual(['CreateInstanceSnapshot', 'WaitForSnapshot']);
    expect((await migrationRows(s)).map((r) => r.migration_name)).toEqual(['20240101000000_init', DANGEROUS_NAME]);
  });

  it('snapshot failure: stops before apply, notifies, nothing applied', async () => {
    s = await scenario(INIT, { rds: { failSnapshots: true } });
    expectSucceeded(await s.executor.run({ action: 'deploy', snapshot: 'never' }, 'init'));
    s.folder.add(DANGEROUS);
    const result = await s.executor.run({ action: 'deploy', approve: [DANGEROUS_NAME] }, 'snapshot-fails');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('NoRestorableBackupError');
    expect(result.cause).toMatch(/ended in status failed/);
    expect(result.states).toContain('SnapshotStatusFailed');
    expect(result.states).not.toContain('ApplyMigrations');
    expect(s.executor.notifications.at(-1)?.subject).toBe('migration-runner: snapshot failed, deploy stopped');
    expect((await migrationRows(s)).map((r) => r.migration_name)).toEqual(['20240101000000_init']);
  });
});
