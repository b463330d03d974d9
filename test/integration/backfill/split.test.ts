/**
 * Where `parallel` cuts the main phase's range, and what a caller is told when it cannot: the
 * key's histogram in pg_stats (no table read) when the table is analyzed, a bounded TABLESAMPLE
 * read under sampleTimeoutMs otherwise, equal value ranges for integer keys when sampling fails,
 * and, when no split can be had, `parallel: requested N, running 1, because ...` in the result and
 * in the CLI's progress output.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../../lambdas/adapters/pg';
import { backfillState, controlBackfill, describeParallelism, resolveBackfill, runBackfill, type BackfillResult, type Parallelism } from '../../../lambdas/core/backfill';
import { histogramKeysSql, sampleKeysSql } from '../../../lambdas/core/backfill/statements';
import type { OwnedDb } from '../../../lambdas/core/ports';
import { runCli } from '../../helpers/cli';
import { definition, fixture, type Fixture } from './helpers';

const ROWS = 200_000;

let fx: Fixture;
let db: OwnedDb;
beforeEach(async () => {
  fx = await fixture();
  db = await fx.session();
});
afterEach(async () => {
  await fx.cleanup();
});

const openSession = () => connect(fx.database.url, { applicationName: 'backfill-test-lane' });
const json = (extra: Record<string, unknown> = {}) => ({ table: 'items', key: 'id', set: { email_lower: 'lower(email)' }, where: 'email_lower IS NULL', targetBatchMs: 30, initialBatchSize: 2000, parallel: 3, ...extra });

/**
 * A table autovacuum never analyzes, so it has a histogram only when the test runs ANALYZE. The
 * first lane calibrates on part of it before the split; enough rows (100,000) must be left.
 */
async function table(key: 'bigint' | 'uuid', analyze: boolean): Promise<void> {
  const id = key === 'bigint' ? 'id bigserial PRIMARY KEY' : 'id uuid PRIMARY KEY DEFAULT gen_random_uuid()';
  await db.query(`CREATE TABLE items (${id}, email text NOT NULL, email_lower text) WITH (autovacuum_enabled = false)`);
  await db.query(`INSERT INTO items (email) SELECT 'User' || g || '@Example.COM' FROM generate_series(1, ${ROWS}) g`);
  // VACUUM alone sets the row estimate (reltuples) and leaves pg_stats empty.
  await db.query(analyze ? 'ANALYZE items' : 'VACUUM items');
}

/**
 * Runs the backfill until the engine says how many partitions walk at once (the first `parallel`
 * event that is not about calibrating), then pauses it from another session: the slice returns
 * paused at its next batch, with `parallel` in its result.
 */
async function runUntilSplitDecided(extra: Record<string, unknown> = {}): Promise<{ result: BackfillResult; decided: Parallelism | undefined }> {
  const control = await fx.session();
  let decided: Parallelism | undefined;
  const result = await runBackfill(db, definition(json(extra)), {
    openSession,
    onEvent: async (e) => {
      if (e.type !== 'parallel' || decided || /calibrating/.test(e.parallel?.reason ?? '')) return;
      decided = e.parallel;
      await controlBackfill(control, 'test_backfill', 'pause');
    },
  });
  return { result, decided };
}

/** Every relation a plan reads, from EXPLAIN (FORMAT JSON). */
async function relationsRead(sql: string, params: unknown[]): Promise<string[]> {
  const { rows } = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
  const names: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (typeof record['Relation Name'] === 'string') names.push(record['Relation Name']);
      Object.values(record).forEach(visit);
    }
  };
  visit(rows[0]['QUERY PLAN']);
  return names;
}

describe('cut points of parallel partitions', () => {
  it('an analyzed table is cut at its histogram bounds, which the engine reads from the catalog without scanning the table', async () => {
    // Prepare
    await table('uuid', true);
    const resolved = await resolveBackfill(db, definition(json()));
    const upper = (await db.query<{ k: string }>(`SELECT id::text AS k FROM items ORDER BY id DESC LIMIT 1`)).rows[0].k;

    // Act
    const { result, decided } = await runUntilSplitDecided();
    const histogramReads = await relationsRead(histogramKeysSql(resolved, false), [resolved.relationOid, 'id', upper]);
    const sampleReads = await relationsRead(sampleKeysSql(resolved, false), [upper, 10]);

    // Assess
    expect(decided).toEqual({ requested: 3, running: 3, cutsFrom: 'statistics' });
    expect(result).toMatchObject({ status: 'paused', parallel: { requested: 3, running: 3, cutsFrom: 'statistics' } });
    expect((await backfillState(db, 'test_backfill'))?.parts).toHaveLength(2);
    expect(histogramReads).not.toContain('items');
    expect(histogramReads).toContain('pg_statistic');
    expect(sampleReads).toContain('items');
  });

  it('without statistics, keys are sampled with TABLESAMPLE under sampleTimeoutMs', async () => {
    // Prepare
    await table('uuid', false);

    // Act
    const { result, decided } = await runUntilSplitDecided();

    // Assess
    expect(decided).toEqual({ requested: 3, running: 3, cutsFrom: 'sample' });
    expect(result).toMatchObject({ status: 'paused', parallel: { requested: 3, running: 3, cutsFrom: 'sample' } });
  });

  it('when sampling cannot finish within sampleTimeoutMs, the result says how many partitions were requested, how many ran, and why', async () => {
    // Prepare: no histogram, and a sample timeout no read of 200,000 rows' pages can meet.
    await table('uuid', false);

    // Act
    const { result, decided } = await runUntilSplitDecided({ sampleTimeoutMs: 1 });

    // Assess
    const why = expect.stringMatching(/sampling keys failed: canceling statement due to statement timeout \(sampleTimeoutMs 1\)$/);
    expect(decided).toEqual({ requested: 3, running: 1, reason: why });
    expect(result).toMatchObject({ status: 'paused', parallel: { requested: 3, running: 1, reason: why } });
    expect((await backfillState(db, 'test_backfill'))?.parts ?? []).toHaveLength(0);
  });

  it('integer keys whose sampling fails are cut into equal value ranges, with no read at all', async () => {
    // Prepare
    await table('bigint', false);

    // Act
    const { result, decided } = await runUntilSplitDecided({ sampleTimeoutMs: 1 });

    // Assess
    expect(decided).toEqual({ requested: 3, running: 3, cutsFrom: 'value-ranges' });
    expect(result).toMatchObject({ status: 'paused', parallel: { requested: 3, running: 3, cutsFrom: 'value-ranges' } });
    const parts = (await backfillState(db, 'test_backfill'))?.parts ?? [];
    expect(parts.map((part) => part.to)).toEqual([parts[1].from, [String(ROWS)]]);
  });

  it('the CLI prints the requested and running partitions, and why, on its progress output', async () => {
    // Prepare
    await table('uuid', false);
    const dir = await mkdtemp(join(tmpdir(), 'mr-split-'));
    const name = '20240101000000_fill_email_lower';
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'migration.sql'), 'SELECT 1;\n');
    await writeFile(join(dir, name, 'backfill.json'), JSON.stringify(json({ sampleTimeoutMs: 1 })));

    // Act
    const run = await runCli(['backfill', '--name', name, '--migrations', dir], { DATABASE_URL: fx.database.url });
    await rm(dir, { recursive: true, force: true });

    // Assess
    expect(run.code === 0 ? 'exit 0' : run.stderr).toBe('exit 0');
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM items WHERE email_lower IS NULL`)).rows[0].n).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`^backfill ${name}: parallel: requested 3, running 1, because .*sampling keys failed: canceling statement due to statement timeout \\(sampleTimeoutMs 1\\)$`, 'm'));
  });
});

describe('describeParallelism', () => {
  it.each([
    { p: { requested: 3, running: 1, reason: 'no sessions' }, line: 'parallel: requested 3, running 1, because no sessions' },
    { p: { requested: 2, running: 2, cutsFrom: 'statistics' as const }, line: 'parallel: requested 2, running 2 (cut points from statistics)' },
    { p: { requested: 1, running: 1 }, line: 'parallel: requested 1, running 1' },
  ])('$line', ({ p, line }) => {
    expect(describeParallelism(p)).toBe(line);
  });
});
