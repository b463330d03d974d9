import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../../lambdas/adapters/pg';
import { loadMigrations } from '../../../lambdas/adapters/fs-source';
import { deploy, status } from '../../../lambdas/core/migrations';
import { loadParser, splitSql } from '../../../lambdas/core/migrations/sql';
import { CREATE_TABLE_SQL } from '../../../lambdas/core/migrations/table';
import { freshDatabase } from '../../helpers/database';
import { applyOneCallPerFile, DATA_FINGERPRINT_SQL, generateHistory, SCHEMA_FINGERPRINT_SQL, writeHistory } from '../../helpers/history';
import type { Client } from 'pg';

async function fingerprint(client: Client): Promise<{ schema: string[]; data: string[] }> {
  const schema = (await client.query(SCHEMA_FINGERPRINT_SQL)).rows.map((r) => r.item);
  const tables = (await client.query(DATA_FINGERPRINT_SQL)).rows.map((r) => r.table_name as string);
  const data: string[] = [];
  for (const table of tables) {
    const { rows } = await client.query(`SELECT count(*) AS n, md5(coalesce(string_agg(t.id || ':' || coalesce(t.title, ''), '|' ORDER BY t.id), '')) AS h FROM "${table}" t`);
    // created_at defaults to the clock, so rows are compared by key and content.
    data.push(`${table} ${rows[0].n} ${rows[0].h}`);
  }
  return { schema, data };
}

it('a generated history of 320 mixed migrations deploys to the same schema and data as one call per file', async () => {
  await loadParser();
  const history = generateHistory(320);
  expect(history.filter((m) => m.nonTransactional).length).toBeGreaterThan(20);
  expect(history.filter((m) => m.sql.startsWith('BEGIN')).length).toBeGreaterThan(20);
  const dir = await mkdtemp(join(tmpdir(), 'mr-history-'));
  const ours = await freshDatabase('hist_ours');
  const reference = await freshDatabase('hist_ref');
  try {
    await writeHistory(dir, history);
    const migrations = await loadMigrations(dir);
    const db = await connect(ours.url);
    try {
      const result = await deploy(db, migrations);
      expect(result.applied).toHaveLength(320);
      expect((await status(db, migrations)).exitCode).toBe(0);
    } finally {
      await db.close();
    }
    const refClient = await reference.client();
    await refClient.query(CREATE_TABLE_SQL);
    await applyOneCallPerFile((sql) => refClient.query(sql), history, (sql) => splitSql(sql).map((s) => s.text));

    const [a, b] = [await fingerprint(await ours.client()), await fingerprint(refClient)];
    expect(a.schema.length).toBeGreaterThan(500);
    expect(a.data.length).toBeGreaterThan(20);
    expect(a).toEqual(b);
  } finally {
    await Promise.all([ours.drop(), reference.drop(), rm(dir, { recursive: true, force: true })]);
  }
});
