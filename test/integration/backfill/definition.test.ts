import { parseBackfillDefinition, runBackfill, backfillFor } from '../../../lambdas/core/backfill';
import { BackfillDefinitionError } from '../../../lambdas/core/errors';
import type { OwnedDb } from '../../../lambdas/core/ports';
import { fixture, type Fixture } from './helpers';

let fx: Fixture;
let db: OwnedDb;
beforeAll(async () => {
  fx = await fixture();
  db = await fx.session();
  await db.query(`CREATE TABLE users (id bigserial PRIMARY KEY, tenant int NOT NULL, email text NOT NULL, email_lower text, doc json, code int, note text UNIQUE);
    INSERT INTO users (tenant, email) SELECT g % 3, 'U' || g || '@X.com' FROM generate_series(1, 200) g;
    CREATE UNIQUE INDEX users_tenant_id ON users (tenant, id);
    CREATE TABLE no_key (id int, v text); INSERT INTO no_key VALUES (1, NULL);`);
});
afterAll(async () => {
  await fx.cleanup();
});

const good = { table: 'users', key: 'id', set: { email_lower: 'lower(email)' }, where: 'email_lower IS NULL' };

async function untouched(): Promise<boolean> {
  const { rows } = await db.query<{ n: number; state: boolean }>(
    `SELECT (SELECT count(*)::int FROM users WHERE email_lower IS NOT NULL) AS n, to_regclass('_migration_runner_backfills') IS NOT NULL AS state`,
  );
  return rows[0].n === 0 && !rows[0].state;
}

describe('bad definitions fail before touching data, naming the field', () => {
  it.each([
    { problem: 'not JSON', json: '{"table": "users",', field: 'not valid JSON' },
    { problem: 'an unknown key', json: JSON.stringify({ ...good, targetBatchMS: 100 }), field: '`targetBatchMS` is not a known key' },
    { problem: 'an unknown key in health', json: JSON.stringify({ ...good, health: { maxLag: 3 } }), field: '`health.maxLag` is not a known key' },
    { problem: 'a missing table', json: JSON.stringify({ ...good, table: undefined }), field: '`table`' },
    { problem: 'a missing key', json: JSON.stringify({ ...good, key: undefined }), field: '`key`' },
    { problem: 'a missing where', json: JSON.stringify({ ...good, where: undefined }), field: '`where`' },
    { problem: 'an empty set', json: JSON.stringify({ ...good, set: {} }), field: '`set` must set at least one column' },
    { problem: 'setting the key column', json: JSON.stringify({ ...good, set: { id: '1' } }), field: '`set.id` cannot change a key column' },
    { problem: 'a where that does not parse', json: JSON.stringify({ ...good, where: 'email_lower IS NUL' }), field: '`where` does not parse' },
    { problem: 'a where that escapes its parentheses', json: JSON.stringify({ ...good, where: 'true); DROP TABLE users; SELECT (1' }), field: '`where` must be a single SQL expression' },
    { problem: 'a where with a set operation', json: JSON.stringify({ ...good, where: 'true) UNION SELECT (1' }), field: '`where` must be a single SQL expression' },
    { problem: 'a set expression that does not parse', json: JSON.stringify({ ...good, set: { email_lower: 'lower(email' } }), field: '`set.email_lower` does not parse' },
    { problem: 'a negative target', json: JSON.stringify({ ...good, targetBatchMs: -5 }), field: '`targetBatchMs`' },
    { problem: 'a duty cycle above 1', json: JSON.stringify({ ...good, dutyCycle: 1.5 }), field: '`dutyCycle`' },
  ])('parse step: $problem', async ({ json, field }) => {
    // Act
    const parsing = parseBackfillDefinition(json, 'm1');

    // Assess
    await expect(parsing).rejects.toThrow(BackfillDefinitionError);
    await expect(parsing).rejects.toThrow(field);
  });

  it.each([
    { problem: 'an unknown table', change: { table: 'userz' }, field: '`table` names no table' },
    { problem: 'an unknown key column', change: { key: 'uid' }, field: '`key` names column "uid"' },
    { problem: 'a key that is not unique', change: { key: 'tenant' }, field: '`key` (tenant) is not the primary key or a valid unique btree index' },
    { problem: 'a nullable unique key', change: { key: 'note' }, field: '`key` column "note" is nullable' },
    { problem: 'a table without a usable key', change: { table: 'no_key', set: { v: "'x'" }, where: 'v IS NULL' }, field: '`key` column "id" is nullable' },
    { problem: 'an unknown set column', change: { set: { email_lowr: 'lower(email)' } }, field: '`set.email_lowr` names column "email_lowr"' },
    { problem: 'an unknown column in where', change: { where: 'emial_lower IS NULL' }, field: '`where` is not valid for this table: column "emial_lower" does not exist' },
    { problem: 'a where that is not boolean', change: { where: 'email' }, field: '`where` is not valid' },
    { problem: 'an unknown column in a set expression', change: { set: { email_lower: 'lower(mail)' } }, field: '`set.email_lower` is not valid for this table: column "mail" does not exist' },
    { problem: 'a set expression of the wrong type', change: { set: { code: "'abc'::text" }, where: 'code IS NULL' }, field: '`set.code` is not valid' },
    { problem: 'a set column without equality (json)', change: { set: { doc: "'{}'::json" }, where: 'doc IS NULL' }, field: '`set` is not valid' },
    { problem: 'range strategy on a composite key', change: { key: ['tenant', 'id'], strategy: 'range' }, field: '`strategy` "range" needs a single integer key column' },
  ])('catalog step: $problem', async ({ change, field }) => {
    // Prepare
    const def = await parseBackfillDefinition(JSON.stringify({ ...good, ...change }), 'm1');

    // Act
    const run = runBackfill(db, def);

    // Assess
    await expect(run).rejects.toThrow(BackfillDefinitionError);
    await expect(run).rejects.toThrow(field);
    expect(await untouched()).toBe(true);
  });
});

describe('backfillFor', () => {
  it('is undefined without backfill.json and names the backfill after the migration', async () => {
    expect(await backfillFor({ name: '20240101_a' })).toBeUndefined();
    const def = await backfillFor({ name: '20240101_a', backfillJson: JSON.stringify(good) });
    expect(def).toMatchObject({ name: '20240101_a', table: 'users', key: ['id'], targetBatchMs: 200 });
  });

  it('names the file of the migration in errors', async () => {
    await expect(backfillFor({ name: '20240101_a', backfillJson: '{}' })).rejects.toThrow('20240101_a/backfill.json: `table`');
  });
});
