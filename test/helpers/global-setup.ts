import { startLocalPostgres } from '../../bin/local-postgres';

/**
 * Starts one embedded PostgreSQL for the whole run, unless DATABASE_URL names a server to use.
 * Test files create their own databases on it (see database.ts).
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.MR_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const server = await startLocalPostgres({ fast: true });
  (globalThis as Record<string, unknown>).__MR_LOCAL_PG__ = server;
  process.env.MR_TEST_ADMIN_URL = server.url;
}
