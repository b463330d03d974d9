import type { LocalPostgres } from '../../bin/local-postgres';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as Record<string, unknown>).__MR_LOCAL_PG__ as LocalPostgres | undefined;
  await server?.stop();
}
