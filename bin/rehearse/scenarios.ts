/**
 * The rehearsal's scenarios, in order. Each adds migration folders to the working folder (so a
 * deploy sees exactly the runbook step it rehearses as pending), runs the state machine and checks
 * the outcome and the database. Later scenarios build on earlier ones, as a real release train does.
 *
 * EXAMPLE_PLAN drives examples/prisma/migrations (names below); userPlan adapts to any folder.
 */
import { listMigrationFolders, type ScenarioContext } from './context';

export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** The outcome the runbook expects, in one line (the report's "expected" column). */
  readonly expected: string;
  run(ctx: ScenarioContext): Promise<void>;
}

export const EXAMPLE = {
  init: '20240101000000_init',
  safe: '20240102000000_add_users_nickname',
  index: '20240103000000_users_email_index',
  addStatus: '20240104000000_add_users_status',
  check: '20240105000000_users_status_check',
  validate: '20240106000000_users_status_validate',
  notNull: '20240107000000_users_status_not_null',
  dangerous: '20240108000000_users_score_bigint',
  failing: '20240109000000_orders_user_index_and_check',
} as const;

async function columnType(ctx: ScenarioContext, table: string, column: string, database?: string): Promise<string | null> {
  const rows = await ctx.query<{ t: string }>(
    `SELECT format_type(a.atttypid, a.atttypmod) AS t FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped`,
    [table, column],
    database,
  );
  return rows[0]?.t ?? null;
}

async function appliedMigrations(ctx: ScenarioContext, database?: string): Promise<string[]> {
  const exists = await ctx.query<{ ok: boolean }>(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS ok`, [], database);
  if (!exists[0].ok) return [];
  const rows = await ctx.query<{ name: string }>(
    'SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name',
    [],
    database,
  );
  return rows.map((r) => r.name);
}

async function indexState(ctx: ScenarioContext, name: string): Promise<string> {
  const rows = await ctx.query<{ valid: boolean }>('SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = to_regclass($1)', [name]);
  return rows.length === 0 ? 'absent' : rows[0].valid ? 'valid' : 'INVALID';
}

async function count(ctx: ScenarioContext, sql: string, database?: string): Promise<number> {
  return (await ctx.query<{ n: number }>(`SELECT (${sql})::int AS n`, [], database))[0].n;
}

/** The runbook's scenarios over examples/prisma/migrations, on `rows` seeded users. */
export function examplePlan(seed: (ctx: ScenarioContext) => Promise<void>): Scenario[] {
  let preMigrationTime: string | undefined;
  return [
    {
      id: 'init',
      title: 'init migration, then realistic volume',
      expected: 'SUCCEEDED; tables created, then users and orders generated server-side',
      async run(ctx) {
        ctx.addMigrations([EXAMPLE.init]);
        await ctx.printLint([EXAMPLE.init]);
        await ctx.execute('init', { action: 'deploy' }, { status: 'SUCCEEDED', states: ['RunPreflight', 'ApplyMigrations', 'VerifyDeploy'] });
        await seed(ctx);
        ctx.expectEqual('users', ctx.rows, await count(ctx, 'SELECT count(*) FROM users'));
      },
    },
    {
      id: 'safe',
      title: 'safe deploy: a nullable column',
      expected: 'SUCCEEDED without a snapshot; column added',
      async run(ctx) {
        ctx.addMigrations([EXAMPLE.safe]);
        await ctx.printLint([EXAMPLE.safe]);
        await ctx.execute('safe', { action: 'deploy' }, { status: 'SUCCEEDED', states: ['RunPreflight', 'ApplyMigrations', 'VerifyDeploy', 'NotifySuccess'], notStates: ['CreateInstanceSnapshot'] });
        ctx.expectEqual('users.nickname exists (text)', 'text', await columnType(ctx, 'users', 'nickname'), 'ApplyMigrations');
      },
    },
    {
      id: 'index',
      title: 'CREATE INDEX CONCURRENTLY with progress',
      expected: 'SUCCEEDED; index valid; reads and writes never blocked',
      async run(ctx) {
        ctx.addMigrations([EXAMPLE.index]);
        await ctx.printLint([EXAMPLE.index]);
        await ctx.execute('index', { action: 'deploy' }, { status: 'SUCCEEDED', states: ['ApplyMigrations', 'VerifyDeploy'] });
        ctx.expectEqual('users_email_idx', 'valid', await indexState(ctx, 'users_email_idx'), 'ApplyMigrations');
      },
    },
    {
      id: 'not-null',
      title: '3-step NOT NULL with a backfill barrier',
      expected: 'SUCCEEDED; apply stops at the barrier, the backfill fills every row, then NOT NULL',
      async run(ctx) {
        const names = [EXAMPLE.addStatus, EXAMPLE.check, EXAMPLE.validate, EXAMPLE.notNull];
        ctx.addMigrations(names);
        await ctx.printLint(names);
        const run = await ctx.execute('not-null', { action: 'deploy' }, {
          status: 'SUCCEEDED',
          states: ['ApplyMigrations', 'SetBarrierBackfill', 'RunBackfillBatch', 'AfterBackfill', 'ApplyMigrations', 'VerifyDeploy'],
        });
        const batches = run.trace.taskOutputs.filter((t) => t.name === 'RunBackfillBatch').map((t) => (t.output as { backfill?: { result?: { rowsDone: number } } }).backfill?.result);
        const rowsDone = batches.at(-1)?.rowsDone ?? 0;
        ctx.notes.push(`backfill users_status: ${rowsDone.toLocaleString('en-US')} rows in ${batches.length} RunBackfillBatch invocation(s)`);
        ctx.expectEqual('backfill rows done', ctx.rows, rowsDone, 'RunBackfillBatch');
        ctx.expectEqual('users with status NULL', 0, await count(ctx, 'SELECT count(*) FROM users WHERE status IS NULL'), 'RunBackfillBatch');
        const notNull = await ctx.query<{ n: boolean }>(`SELECT attnotnull AS n FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'status'`);
        ctx.expectEqual('users.status is NOT NULL', true, notNull[0]?.n ?? null, 'ApplyMigrations');
        ctx.expectEqual('helper CHECK dropped', 0, await count(ctx, `SELECT count(*) FROM pg_constraint WHERE conname = 'users_status_not_null'`), 'ApplyMigrations');
      },
    },
    {
      id: 'dangerous-refused',
      title: 'dangerous migration (table rewrite) without approval',
      expected: 'FAILED DangerousMigrationNotApprovedError; nothing applied',
      async run(ctx) {
        ctx.addMigrations([EXAMPLE.dangerous]);
        await ctx.printLint([EXAMPLE.dangerous]);
        await ctx.execute('refused', { action: 'deploy' }, { status: 'FAILED', error: 'DangerousMigrationNotApprovedError', states: ['RunPreflight', 'NotifyRefusal', 'DeployRefused'], notStates: ['ApplyMigrations', 'CreateInstanceSnapshot'] });
        ctx.expectEqual('users.score unchanged', 'integer', await columnType(ctx, 'users', 'score'), 'RunPreflight');
        ctx.expectEqual(`${EXAMPLE.dangerous} not applied`, false, (await appliedMigrations(ctx)).includes(EXAMPLE.dangerous), 'RunPreflight');
      },
    },
    {
      id: 'dangerous-approved',
      title: 'the same migration approved: snapshot first',
      expected: 'SUCCEEDED; snapshot of the old table taken before the rewrite',
      async run(ctx) {
        const run = await ctx.execute('approved', { action: 'deploy', approve: [EXAMPLE.dangerous] }, {
          status: 'SUCCEEDED',
          states: ['RunPreflight', 'CreateInstanceSnapshot', 'DescribeInstanceSnapshot', 'ApplyMigrations', 'VerifyDeploy'],
        });
        preMigrationTime = run.startedAt;
        ctx.expectEqual('users.score after the rewrite', 'bigint', await columnType(ctx, 'users', 'score'), 'ApplyMigrations');
        const snapshot = [...ctx.executor.rds.snapshots.values()].at(-1);
        ctx.expectEqual('snapshot taken', true, snapshot !== undefined, 'CreateInstanceSnapshot');
        if (snapshot) ctx.notes.push(`snapshot ${snapshot.identifier} = database ${snapshot.database}`);
        const snapshotDb = snapshot?.database ?? ctx.database;
        ctx.expectEqual('snapshot holds users.score as before', 'integer', await columnType(ctx, 'users', 'score', snapshotDb), 'CreateInstanceSnapshot');
        ctx.expectEqual('snapshot holds every user', ctx.rows, await count(ctx, 'SELECT count(*) FROM users', snapshotDb), 'CreateInstanceSnapshot');
      },
    },
    {
      id: 'failure',
      title: 'a migration fails half-way: rollback.sql',
      expected: 'FAILED MigrationFailedError; rollback.sql drops the committed index; row marked rolled back',
      async run(ctx) {
        ctx.addMigrations([EXAMPLE.failing]);
        await ctx.printLint([EXAMPLE.failing]);
        await ctx.execute('failure', { action: 'deploy', approve: [EXAMPLE.failing] }, {
          status: 'FAILED',
          error: 'MigrationFailedError',
          states: ['ApplyMigrations', 'RecordFailure', 'FindFailedMigration', 'ApplyRollback', 'NotifyFailure', 'DeployFailed'],
          notStates: ['RollbackNotApplied'],
        });
        ctx.expectEqual('orders_user_id_idx after rollback.sql', 'absent', await indexState(ctx, 'orders_user_id_idx'), 'ApplyRollback');
        const rows = await ctx.query<{ rolled_back: boolean; finished: boolean }>(
          'SELECT rolled_back_at IS NOT NULL AS rolled_back, finished_at IS NOT NULL AS finished FROM _prisma_migrations WHERE migration_name = $1',
          [EXAMPLE.failing],
        );
        ctx.expectEqual(`${EXAMPLE.failing} row`, [{ rolled_back: true, finished: false }], rows, 'ApplyRollback');
        ctx.expectEqual('orders untouched', Math.max(1, Math.floor(ctx.rows / 2)), await count(ctx, 'SELECT count(*) FROM orders'), 'ApplyRollback');
      },
    },
    {
      id: 'restore',
      title: 'point-in-time restore to before the rewrite, into a new database',
      expected: 'SUCCEEDED; the new database holds the pre-rewrite schema and every row; the source untouched',
      async run(ctx) {
        const target = `${ctx.executor.restorePrefix}-before-rewrite`;
        const input = { action: 'restore', restore: { to: preMigrationTime ?? 'pre-migration time unknown', targetIdentifier: target } };
        const run = await ctx.execute('restore', input, { status: 'SUCCEEDED', states: ['DescribeSourceInstance', 'RestoreInstanceToTime', 'DescribeRestoredInstance', 'RestoreSucceeded', 'NotifyRestore'] });
        const restored = ctx.executor.rds.instances.get(target);
        ctx.expectEqual('restored instance exists', true, restored !== undefined, 'RestoreInstanceToTime');
        if (!restored || run.result.status !== 'SUCCEEDED') return;
        ctx.notes.push(`restored ${target} = database ${restored.database}`);
        ctx.expectEqual('restored users.score (before the rewrite)', 'integer', await columnType(ctx, 'users', 'score', restored.database), 'RestoreInstanceToTime');
        ctx.expectEqual('restored users', ctx.rows, await count(ctx, 'SELECT count(*) FROM users', restored.database), 'RestoreInstanceToTime');
        ctx.expectEqual('restored users with a status (the NOT NULL work kept)', ctx.rows, await count(ctx, 'SELECT count(*) FROM users WHERE status IS NOT NULL', restored.database), 'RestoreInstanceToTime');
        ctx.expectEqual(`restored: ${EXAMPLE.dangerous} not applied`, false, (await appliedMigrations(ctx, restored.database)).includes(EXAMPLE.dangerous), 'RestoreInstanceToTime');
        ctx.expectEqual('source users.score still bigint', 'bigint', await columnType(ctx, 'users', 'score'), 'RestoreInstanceToTime');
      },
    },
  ];
}

/**
 * The user's own folder (`--migrations DIR`) on an empty scratch database: status, deploy (refused
 * when the linter finds dangerous migrations, then approved), status clean, and a restore to
 * before the deploy checked against the pre-deploy state.
 */
export function userPlan(sourceDir: string): Scenario[] {
  const names = listMigrationFolders(sourceDir);
  let dangerous: string[] = [];
  let preMigrationTime: string | undefined;
  return [
    {
      id: 'status',
      title: `status of ${names.length} migration(s) on an empty database`,
      expected: 'SUCCEEDED; every migration pending',
      async run(ctx) {
        ctx.addMigrations(names);
        const run = await ctx.execute('status', { action: 'status' }, { status: 'SUCCEEDED', notStates: ['ApplyMigrations'] });
        const pending = (run.result.output as { status?: { pending?: string[] } } | undefined)?.status?.pending ?? [];
        ctx.expectEqual('pending migrations', names.length, pending.length, 'RunPreflight');
      },
    },
    {
      id: 'deploy',
      title: 'deploy without approvals',
      expected: 'SUCCEEDED, or FAILED DangerousMigrationNotApprovedError with nothing applied when the linter finds dangerous migrations',
      async run(ctx) {
        dangerous = await ctx.printLint(names);
        const expectRefusal = dangerous.length > 0;
        const run = await ctx.execute('deploy', { action: 'deploy' }, expectRefusal
          ? { status: 'FAILED', error: 'DangerousMigrationNotApprovedError', notStates: ['ApplyMigrations'] }
          : { status: 'SUCCEEDED', states: ['ApplyMigrations', 'VerifyDeploy'] });
        preMigrationTime = run.startedAt;
        ctx.expectEqual('applied migrations', expectRefusal ? 0 : names.length, (await appliedMigrations(ctx)).length, expectRefusal ? 'RunPreflight' : 'ApplyMigrations');
      },
    },
    {
      id: 'approved',
      title: 'deploy approving the dangerous migrations (snapshot first)',
      expected: 'SUCCEEDED with a snapshot; every migration applied (skipped when nothing is dangerous)',
      async run(ctx) {
        if (dangerous.length === 0) {
          ctx.notes.push('nothing dangerous: no approval needed');
          ctx.expectEqual('applied migrations', names.length, (await appliedMigrations(ctx)).length, 'ApplyMigrations');
          return;
        }
        const run = await ctx.execute('approved', { action: 'deploy', approve: dangerous }, { status: 'SUCCEEDED', states: ['CreateInstanceSnapshot', 'ApplyMigrations', 'VerifyDeploy'] });
        preMigrationTime = run.startedAt;
        ctx.expectEqual('applied migrations', names.length, (await appliedMigrations(ctx)).length, 'ApplyMigrations');
      },
    },
    {
      id: 'status-clean',
      title: 'status after the deploy',
      expected: 'SUCCEEDED; nothing pending',
      async run(ctx) {
        const run = await ctx.execute('status-after', { action: 'status' }, { status: 'SUCCEEDED' });
        const status = (run.result.output as { status?: { pending?: string[]; failed?: string[] } } | undefined)?.status;
        ctx.expectEqual('pending after deploy', [], status?.pending ?? null, 'RunPreflight');
        ctx.expectEqual('failed after deploy', [], status?.failed ?? null, 'RunPreflight');
      },
    },
    {
      id: 'restore',
      title: 'point-in-time restore to before the deploy, into a new database',
      expected: 'SUCCEEDED; the new database has none of the migrations; the source keeps them',
      async run(ctx) {
        const target = `${ctx.executor.restorePrefix}-before-deploy`;
        const run = await ctx.execute('restore', { action: 'restore', restore: { to: preMigrationTime ?? 'pre-migration time unknown', targetIdentifier: target } }, { status: 'SUCCEEDED', states: ['RestoreInstanceToTime', 'RestoreSucceeded'] });
        const restored = ctx.executor.rds.instances.get(target);
        ctx.expectEqual('restored instance exists', true, restored !== undefined, 'RestoreInstanceToTime');
        if (!restored || run.result.status !== 'SUCCEEDED') return;
        ctx.expectEqual('restored: applied migrations', 0, (await appliedMigrations(ctx, restored.database)).length, 'RestoreInstanceToTime');
        ctx.expectEqual('source: applied migrations', names.length, (await appliedMigrations(ctx)).length, 'RestoreInstanceToTime');
      },
    },
  ];
}
