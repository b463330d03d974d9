import { runBackfill, backfillState, type BatchEvent } from '../../../lambdas/core/backfill';
import { definition, fixture, snapshot, type Fixture } from './helpers';

let fx: Fixture;
beforeEach(async () => {
  fx = await fixture();
});
afterEach(async () => {
  await fx.cleanup();
});

describe('key shapes', () => {
  it.each([
    {
      shape: 'integer key (range walk)',
      ddl: `CREATE TABLE items (id bigserial PRIMARY KEY, email text NOT NULL, email_lower text);
            INSERT INTO items (email) SELECT 'User' || g || '@Example.com' FROM generate_series(1, 20000) g;
            DELETE FROM items WHERE id % 7 = 0;`,
      key: 'id',
      strategy: 'range',
      order: 'id',
    },
    {
      shape: 'UUID key (keyset walk)',
      ddl: `CREATE TABLE items (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL, email_lower text);
            INSERT INTO items (email) SELECT 'User' || g || '@Example.com' FROM generate_series(1, 20000) g;`,
      key: 'id',
      strategy: 'keyset',
      order: 'id',
    },
    {
      shape: 'composite key (keyset walk)',
      ddl: `CREATE TABLE items (tenant text NOT NULL, n int NOT NULL, email text NOT NULL, email_lower text, PRIMARY KEY (tenant, n));
            INSERT INTO items (tenant, n, email) SELECT 'tenant-' || (g % 13), g, 'User' || g || '@Example.com' FROM generate_series(1, 20000) g;`,
      key: ['tenant', 'n'],
      strategy: 'keyset',
      order: 'tenant, n',
    },
    {
      shape: 'partitioned table, integer key (verified by key, not by block)',
      ddl: `CREATE TABLE items (id bigint NOT NULL, email text NOT NULL, email_lower text, PRIMARY KEY (id)) PARTITION BY RANGE (id);
            CREATE TABLE items_a PARTITION OF items FOR VALUES FROM (0) TO (10000);
            CREATE TABLE items_b PARTITION OF items FOR VALUES FROM (10000) TO (30000);
            INSERT INTO items (id, email) SELECT g, 'User' || g || '@Example.com' FROM generate_series(1, 20000) g;`,
      key: 'id',
      strategy: 'range',
      order: 'id',
    },
  ])('$shape: every row updated, same as one UPDATE, then verified', async ({ shape, ddl, key, strategy, order }) => {
    // Prepare
    const db = await fx.session();
    await db.query(ddl);
    await db.query(`CREATE TABLE expected AS SELECT * FROM items; UPDATE expected SET email_lower = lower(email) WHERE email_lower IS NULL`);
    const events: BatchEvent[] = [];
    const def = definition({ table: 'items', key, set: { email_lower: 'lower(email)' }, where: 'email_lower IS NULL', targetBatchMs: 20, initialBatchSize: 200 });

    // Act
    const result = await runBackfill(db, def, { onEvent: (e) => void events.push(e) });

    // Assess
    const count = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM items`)).rows[0].n;
    expect(result).toMatchObject({ status: 'done', rowsDone: count, waitSeconds: 0, progress: 1 });
    expect(await snapshot(db, 'items', order)).toEqual(await snapshot(db, 'expected', order));
    expect((await backfillState(db, def.name))?.strategy).toBe(strategy);
    expect((await backfillState(db, def.name))?.walk).toBe(shape.startsWith('partitioned') ? 'keys' : 'blocks');
    const phases = events.filter((e) => e.type === 'phase').map((e) => e.message);
    expect(phases).toEqual(['verify', 'done']);
    expect(events.filter((e) => e.type === 'batch' && e.phase === 'main').length).toBeGreaterThan(3);
  });
});

describe('identifiers', () => {
  it('quotes every identifier: a schema, a mixed-case table with a space, reserved-word columns', async () => {
    // Prepare
    const db = await fx.session();
    await db.query(`CREATE SCHEMA "Sales";
      CREATE TABLE "Sales"."Order Items" ("ID" int PRIMARY KEY, "user" text NOT NULL, "Select" text);
      INSERT INTO "Sales"."Order Items" SELECT g, 'U' || g FROM generate_series(1, 3000) g;`);
    const def = definition({ schema: 'Sales', table: 'Order Items', key: 'ID', set: { Select: 'lower("user")' }, where: '"Select" IS NULL', targetBatchMs: 20 });

    // Act
    const result = await runBackfill(db, def);

    // Assess
    expect(result).toMatchObject({ status: 'done', rowsDone: 3000 });
    const left = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Sales"."Order Items" WHERE "Select" IS DISTINCT FROM lower("user")`);
    expect(left.rows[0].n).toBe(0);
    expect((await backfillState(db, def.name))?.table).toBe('"Sales"."Order Items"');
  });
});
