import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export function adminUrl(): string {
  const url = process.env.MR_TEST_ADMIN_URL;
  if (!url) throw new Error('MR_TEST_ADMIN_URL is not set: run integration tests through jest (global setup)');
  return url;
}

export function urlFor(database: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withAdmin<T>(fn: (client: Client) => Promise<T>, database?: string): Promise<T> {
  const client = new Client({ connectionString: database ? urlFor(database) : adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** A connected client on this database, closed by drop(). */
  client(): Promise<Client>;
  drop(): Promise<void>;
}

/** A new, empty database for one test (or one test file). */
export async function freshDatabase(prefix = 'mr'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`.toLowerCase();
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  const clients: Client[] = [];
  return {
    name,
    url: urlFor(name),
    async client() {
      const c = new Client({ connectionString: urlFor(name) });
      await c.connect();
      clients.push(c);
      return c;
    },
    async drop() {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
