import type { Client } from 'pg';
import { connect } from '../../../lambdas/adapters/pg';
import { loadMigrations } from '../../../lambdas/adapters/fs-source';
import { deploy, resolve, status } from '../../../lambdas/core/migrations';
import { checksumOf } from '../../../lambdas/core/migrations/checksum';
import type { OwnedDb } from '../../../lambdas/core/ports';
import { freshDatabase, type TestDatabase } from '../../helpers/database';
import { MigrationsDir, type MigrationSpec } from '../../helpers/migrations-dir';

let database: TestDatabase;
let admin: Client;
let dirs: MigrationsDir[] = [];
let sessions: OwnedDb[] = [];

beforeEach(async () => {
  database = await freshDatabase('deploy');
  admin = await database.client();
});
afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(dirs.map((d) => d.remove()));
  sessions = [];
  dirs = [];
  await database.drop();
});

async function folder(migrations: Record<string, MigrationSpec>): Promise<MigrationsDir> {
  const dir = await MigrationsDir.create(migrations);
  dirs.push(dir);
  return dir;
}

async function session(name = 'test'): Promise<OwnedDb> {
  const db = await connect(database.url, { applicationName: `migration-runner:${name}` });
  sessions.push(db);
  return db;
}

async function deployDir(dir: MigrationsDir, options: Parameters<typeof deploy>[2] = {}) {
  const db = await session('deploy');
  return deploy(db, await loadMigrations(dir.path), options);
}

async function rows() {
  const { rows } = await admin.query(
    `SELECT migration_name, checksum, finished_at, logs, rolled_back_at, started_at, applied_steps_count FROM _prisma_migrations ORDER BY started_at`,
  );
  return rows;
}

async function columns(table: string): Promise<string[]> {
  const { rows } = await admin.query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [table]);
  return rows.map((r) => r.column_name);
}

describe('the runbook examples', () => {
  it('deploys a nullable column, CONCURRENTLY alone and mixed, and the 3-step NOT NULL; status is then clean', async () => {
    const dir = await folder({
      '20240101000000_init': 'CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL);\nINSERT INTO users (email) SELECT \'u\' || g || \'@x.io\' FROM generate_series(1, 500) g;',
      '20240102000000_add_bio': 'ALTER TABLE users ADD COLUMN bio TEXT;',
      '20240103000000_index_alone': 'CREATE INDEX CONCURRENTLY users_email_idx ON users (email);',
      '20240104000000_index_mixed':
        'ALTER TABLE users ADD COLUMN country TEXT;\nCREATE INDEX CONCURRENTLY users_country_idx ON users (country);\nCOMMENT ON COLUMN users.country IS \'ISO code\';',
      '20240105000000_status_nullable': 'ALTER TABLE users ADD COLUMN status TEXT;',
      '20240106000000_status_backfill': "UPDATE users SET status = 'active' WHERE status IS NULL;",
      '20240107000000_status_not_null':
        'ALTER TABLE users ADD CONSTRAINT users_status_not_null CHECK (status IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT users_status_not_null;\nALTER TABLE users ALTER COLUMN status SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_status_not_null;',
    });

    const result = await deployDir(dir);

    expect(result.applied.map((m) => m.name)).toHaveLength(7);
    expect(await columns('users')).toEqual(['id', 'email', 'bio', 'country', 'status']);
    const { rows: idx } = await admin.query(
      `SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'users_%_idx' ORDER BY 1`,
    );
    expect(idx).toEqual([
      { relname: 'users_country_idx', indisvalid: true },
      { relname: 'users_email_idx', indisvalid: true },
    ]);
    const { rows: nullable } = await admin.query(`SELECT is_nullable FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'status'`);
    expect(nullable[0].is_nullable).toBe('NO');
    const report = await status(await session(), await loadMigrations(dir.path));
    expect(report).toMatchObject({ pending: [], failed: [], databaseOnly: [], edited: [], exitCode: 0 });
  });
});

describe('_prisma_migrations is what Prisma writes', () => {
  it('has Prisma column types, nullability and defaults', async () => {
    await deployDir(await folder({ '20240101000000_a': 'SELECT 1;' }));
    const { rows: cols } = await admin.query(
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default FROM information_schema.columns
        WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(cols).toEqual([
      { column_name: 'id', data_type: 'character varying', character_maximum_length: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', character_maximum_length: 64, is_nullable: 'NO', column_default: null },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'migration_name', data_type: 'character varying', character_maximum_length: 255, is_nullable: 'NO', column_default: null },
      { column_name: 'logs', data_type: 'text', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'applied_steps_count', data_type: 'integer', character_maximum_length: null, is_nullable: 'NO', column_default: '0' },
    ]);
    const { rows: pk } = await admin.query(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = '_prisma_migrations'::regclass`);
    expect(pk).toEqual([{ def: 'PRIMARY KEY (id)' }]);
  });

  it('records checksums of the bytes as stored: CRLF, BOM and empty files', async () => {
    const files = { '20240101000000_crlf': 'CREATE TABLE a (id int);\r\nCREATE TABLE b (id int);\r\n', '20240102000000_bom': '\uFEFFCREATE TABLE c (id int);\n', '20240103000000_empty': '' };
    await deployDir(await folder(files));
    const recorded = await rows();
    expect(recorded.map((r) => [r.migration_name, r.checksum])).toEqual(Object.entries(files).map(([name, sql]) => [name, checksumOf(Buffer.from(sql, 'utf8'))]));
    expect(recorded[2].checksum).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('writes a successful row with one step, finished_at set and NULL logs', async () => {
    const before = Date.now();
    await deployDir(await folder({ '20240101000000_a': 'CREATE TABLE a (id int);' }));
    const [row] = await rows();
    expect(row).toMatchObject({ migration_name: '20240101000000_a', applied_steps_count: 1, logs: null, rolled_back_at: null });
    expect(row.finished_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    expect(row.started_at.getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it('writes a failed row with logs and no finished_at; the next deploy refuses with P3009; resolve paths', async () => {
    const dir = await folder({
      '20240101000000_ok': 'CREATE TABLE a (id int);',
      '20240102000000_broken': 'CREATE TABLE b (id int);\nINSERT INTO missing_table VALUES (1);',
      '20240103000000_later': 'CREATE TABLE c (id int);',
    });

    await expect(deployDir(dir)).rejects.toMatchObject({ name: 'MigrationFailedError', code: 'P3018', details: { migration: '20240102000000_broken', sqlState: '42P01', line: 2 } });

    const failed = (await rows())[1];
    expect(failed).toMatchObject({ migration_name: '20240102000000_broken', finished_at: null, applied_steps_count: 0, rolled_back_at: null });
    expect(failed.logs).toContain('Migration name: 20240102000000_broken');
    expect(failed.logs).toContain('Database error code: 42P01');
    expect(failed.logs).toContain('ERROR: relation "missing_table" does not exist');
    expect(failed.logs).toContain('Statement (20240102000000_broken/migration.sql line 2):');
    // The transactional file left nothing behind, and the later migration did not run.
    expect(await columns('b')).toEqual([]);
    expect(await columns('c')).toEqual([]);

    await expect(deployDir(dir)).rejects.toMatchObject({ name: 'FailedMigrationsError', code: 'P3009' });
    await expect(deployDir(dir)).rejects.toThrow(/The `20240102000000_broken` migration started at .* failed/);

    const db = await session('resolve');
    const migrations = await loadMigrations(dir.path);
    await expect(resolve(db, migrations, { rolledBack: '20240101000000_ok' })).rejects.toMatchObject({ name: 'MigrationNotFailedError', code: 'P3012' });
    await expect(resolve(db, migrations, { rolledBack: '20240103000000_later' })).rejects.toMatchObject({ name: 'MigrationNeverAppliedError', code: 'P3011' });
    await expect(resolve(db, migrations, { applied: '20240101000000_ok' })).rejects.toMatchObject({ name: 'MigrationAlreadyAppliedError', code: 'P3008' });
    await expect(resolve(db, migrations, { applied: '20990101000000_nope' })).rejects.toMatchObject({ name: 'MigrationNotFoundError', code: 'P3017' });

    await expect(resolve(db, migrations, { rolledBack: '20240102000000_broken' })).resolves.toEqual({ migration: '20240102000000_broken', as: 'rolled-back', rolledBackRows: 1 });
    expect((await rows())[1].rolled_back_at).toBeInstanceOf(Date);
    await expect(resolve(db, migrations, { rolledBack: '20240102000000_broken' })).rejects.toMatchObject({ code: 'P3012' });

    // Fixed locally, then deployed: a new row for the migration, the old one stays rolled back.
    await dir.add({ '20240102000000_broken': 'CREATE TABLE b (id int);' });
    const result = await deployDir(dir);
    expect(result.applied.map((m) => m.name)).toEqual(['20240102000000_broken', '20240103000000_later']);
    const names = (await rows()).map((r) => [r.migration_name, r.finished_at !== null, r.rolled_back_at !== null]);
    expect(names).toEqual([
      ['20240101000000_ok', true, false],
      ['20240102000000_broken', false, true],
      ['20240102000000_broken', true, false],
      ['20240103000000_later', true, false],
    ]);
  });

  it('resolve --applied marks a failed migration applied (rolling back its failed row) and baselines an empty database', async () => {
    const dir = await folder({ '20240101000000_broken': 'SELECT 1/0;', '20240102000000_next': 'CREATE TABLE n (id int);' });
    await expect(deployDir(dir)).rejects.toMatchObject({ code: 'P3018' });
    const db = await session('resolve');
    const migrations = await loadMigrations(dir.path);

    await expect(resolve(db, migrations, { applied: '20240101000000_broken' })).resolves.toEqual({ migration: '20240101000000_broken', as: 'applied', rolledBackRows: 1 });

    const recorded = await rows();
    expect(recorded).toHaveLength(2);
    expect(recorded[0].rolled_back_at).toBeInstanceOf(Date);
    expect(recorded[1]).toMatchObject({ migration_name: '20240101000000_broken', logs: '', applied_steps_count: 0, checksum: migrations[0].checksum });
    expect(recorded[1].finished_at.getTime()).toBe(recorded[1].started_at.getTime());
    expect((await deployDir(dir)).applied.map((m) => m.name)).toEqual(['20240102000000_next']);

    // Baselining: a database with tables and no migrations table.
    const other = await freshDatabase('baseline');
    try {
      const c = await other.client();
      await c.query('CREATE TABLE legacy (id int)');
      const baseline = await connect(other.url);
      sessions.push(baseline);
      await expect(deploy(baseline, migrations)).rejects.toMatchObject({ name: 'SchemaNotEmptyError', code: 'P3005' });
      const { rows: none } = await c.query(`SELECT to_regclass('_prisma_migrations') AS t`);
      expect(none[0].t).toBeNull();
      await resolve(baseline, migrations, { applied: '20240101000000_broken' });
      expect((await deploy(baseline, migrations)).applied.map((m) => m.name)).toEqual(['20240102000000_next']);
    } finally {
      await other.drop();
    }
  });
});

describe('failures leave nothing half-applied', () => {
  it('a mixed file stops at the failure: earlier units committed, later statements not run', async () => {
    const dir = await folder({
      '20240101000000_init': 'CREATE TABLE t (id int, v text);',
      '20240102000000_mixed': 'ALTER TABLE t ADD COLUMN a int;\nCREATE INDEX CONCURRENTLY t_a_idx ON t (a);\nALTER TABLE t ADD COLUMN b int;\nALTER TABLE nope ADD COLUMN c int;\nALTER TABLE t ADD COLUMN d int;\nCREATE INDEX CONCURRENTLY t_d_idx ON t (d);',
    });
    await expect(deployDir(dir)).rejects.toMatchObject({ details: { line: 4, sqlState: '42P01' } });
    // Units: [a] [CIC a] [b, nope, d] [CIC d]: the third unit rolled back entirely, the fourth never ran.
    expect(await columns('t')).toEqual(['id', 'v', 'a']);
    const { rows: idx } = await admin.query(`SELECT relname FROM pg_class WHERE relname LIKE 't_%_idx'`);
    expect(idx.map((r) => r.relname)).toEqual(['t_a_idx']);
  });

  it('a failed CREATE INDEX CONCURRENTLY is reported with the INVALID index it left', async () => {
    const dir = await folder({
      '20240101000000_init': "CREATE TABLE t (id int, email text);\nINSERT INTO t VALUES (1, 'dup'), (2, 'dup');",
      '20240102000000_unique': 'CREATE UNIQUE INDEX CONCURRENTLY t_email_key ON t (email);',
    });
    const error = await deployDir(dir).catch((e) => e);
    expect(error).toMatchObject({ name: 'MigrationFailedError', details: { sqlState: '23505', invalidIndexes: ['"public"."t_email_key"'] } });
    const [, failed] = await rows();
    expect(failed.logs).toContain('left INVALID index(es): "public"."t_email_key"');
    const { rows: idx } = await admin.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 't_email_key'::regclass`);
    expect(idx).toEqual([{ indisvalid: false }]);
  });

  it('refuses a syntax error before touching the database, naming file and line', async () => {
    const dir = await folder({
      '20240101000000_ok': 'CREATE TABLE a (id int);',
      '20240102000000_runbook_step2': "UPDATE users SET status = 'active'\nWHERE status IS NULL LIMIT 1000;",
    });
    await expect(deployDir(dir)).rejects.toMatchObject({ name: 'SqlSyntaxError' });
    await expect(deployDir(dir)).rejects.toThrow('20240102000000_runbook_step2/migration.sql:2:22: syntax error at or near "LIMIT"');
    const { rows: t } = await admin.query(`SELECT to_regclass('_prisma_migrations') AS m, to_regclass('a') AS a`);
    expect(t).toEqual([{ m: null, a: null }]);
  });
});

describe('status', () => {
  it('reports pending, failed, database-only and edited migrations', async () => {
    const dir = await folder({ '20240101000000_a': 'CREATE TABLE a (id int);', '20240102000000_b': 'CREATE TABLE b (id int);', '20240103000000_c': 'SELECT 1/0;' });
    await expect(deployDir(dir)).rejects.toMatchObject({ code: 'P3018' });
    await dir.add({ '20240101000000_a': 'CREATE TABLE a (id bigint);', '20240104000000_d': 'CREATE TABLE d (id int);' });
    await admin.query(`INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count) VALUES ('x', 'y', '20231231000000_gone', now(), 1)`);

    const report = await status(await session(), await loadMigrations(dir.path));

    expect(report).toMatchObject({
      managed: true,
      pending: ['20240104000000_d'],
      databaseOnly: ['20231231000000_gone'],
      edited: ['20240101000000_a'],
      exitCode: 1,
    });
    expect(report.failed.map((f) => f.name)).toEqual(['20240103000000_c']);
    expect(report.failed[0].error).toBe('ERROR: division by zero');
  });

  it('reports an unmanaged database', async () => {
    const dir = await folder({ '20240101000000_a': 'CREATE TABLE a (id int);' });
    expect(await status(await session(), await loadMigrations(dir.path))).toMatchObject({ managed: false, pending: ['20240101000000_a'], exitCode: 1 });
  });
});

describe('failing statement identification', () => {
  it.each([
    ['one round trip with INFO markers', (db: OwnedDb) => db],
    ['statement by statement (a session without notices)', (db: OwnedDb) => ({ pid: db.pid, query: db.query.bind(db) })],
  ])('%s: names the line; a trailing line comment does not swallow the separator', async (_name, wrap) => {
    const dir = await folder({
      '20240101000000_a': "SET client_min_messages = error;\nCREATE TABLE a (id int); -- trailing comment\nINSERT INTO a VALUES (1) -- comment before the semicolon\n;\nINSERT INTO a VALUES (1 / 0);\nCREATE TABLE never (id int);",
    });
    const db = await session('deploy');
    const error = await deploy(wrap(db) as OwnedDb, await loadMigrations(dir.path)).catch((e) => e);
    expect(error).toMatchObject({ name: 'MigrationFailedError', details: { line: 5, sqlState: '22012' } });
    expect((await rows())[0].logs).toContain('Statement (20240101000000_a/migration.sql line 5):\nINSERT INTO a VALUES (1 / 0)');
    expect(await columns('a')).toEqual([]);
  });
});
