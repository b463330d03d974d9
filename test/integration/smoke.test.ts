import { freshDatabase } from '../helpers/database';
it('connects', async () => {
  const db = await freshDatabase();
  const c = await db.client();
  const r = await c.query('select version()');
  expect(r.rows[0].version).toMatch(/PostgreSQL 17/);
  await db.drop();
});
