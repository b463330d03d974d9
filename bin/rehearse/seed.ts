/**
 * Realistic volume for the example schema (examples/prisma/migrations/20240101000000_init), generated
 * server-side with generate_series: no rows cross the network, so 1M users take seconds.
 *
 * The data is shaped for the scenarios that follow: `score` spreads over 0-999 (the users_status
 * backfill derives status from it), e-mails are unique (the email index), and about 1 % of orders
 * are refunds stored with amount_cents <= 0, which is what makes the orders_amount_positive CHECK
 * of the failing migration fail on existing rows, as it would in production.
 */
import { Client } from 'pg';

export interface SeedResult {
  readonly users: number;
  readonly orders: number;
  readonly refunds: number;
  readonly databaseBytes: number;
  readonly ms: number;
}

export async function seedExampleData(url: string, users: number): Promise<SeedResult> {
  const started = Date.now();
  const orders = Math.max(1, Math.floor(users / 2));
  const client = new Client({ connectionString: url, application_name: 'migration-runner:rehearse-seed' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    // One session, two statements; the rows of a throw-away rehearsal need no synchronous commit.
    await client.query('SET synchronous_commit = off');
    await client.query(
      `INSERT INTO "users" ("email", "name", "score", "created_at")
       SELECT 'user' || g || '@example.com', 'User ' || g, (g::bigint * 7919) % 1000, now() - make_interval(hours => g % 20000)
         FROM generate_series(1, $1::int) AS g`,
      [users],
    );
    // Every generated user_id exists by construction (1..users), so the per-row foreign-key trigger
    // only costs time (25 s of 35 s at 500k orders here). session_replication_role = replica skips it
    // where allowed (superuser: the embedded server); elsewhere the rows are simply checked.
    await client.query('SET session_replication_role = replica').catch(() => undefined);
    await client.query(
      `INSERT INTO "orders" ("user_id", "amount_cents", "created_at")
       SELECT 1 + (g::bigint * 31) % $1::int, CASE WHEN g % 97 = 0 THEN -(g % 5000) ELSE 1 + g % 5000 END, now() - make_interval(mins => g % 50000)
         FROM generate_series(1, $2::int) AS g`,
      [users, orders],
    );
    await client.query('RESET session_replication_role').catch(() => undefined);
    // Fresh statistics: preflight's lint sizes tables from pg_class (reltuples, bytes).
    await client.query('ANALYZE "users", "orders"');
    const refunds = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM "orders" WHERE "amount_cents" <= 0');
    const size = await client.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes');
    return { users, orders, refunds: refunds.rows[0].n, databaseBytes: Number(size.rows[0].bytes), ms: Date.now() - started };
  } finally {
    await client.end();
  }
}
