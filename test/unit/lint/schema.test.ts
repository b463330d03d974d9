/** The schema model replayed from earlier migrations. */
import { loadParser, splitSql } from '../../../lambdas/core/migrations/sql';
import { emptySchema, replay, type Schema } from '../../../lambdas/core/lint/schema';

beforeAll(() => loadParser());

function replayAll(...migrations: string[]): Schema {
  const schema = emptySchema();
  migrations.forEach((sql, migrationIndex) => {
    for (const stmt of splitSql(sql)) replay(schema, stmt, { migrationIndex, txnKey: `${migrationIndex}:0` });
  });
  return schema;
}

describe('schema replay', () => {
  it('tracks column types, nullability and the migration that created the table', () => {
    // Act
    const schema = replayAll('CREATE TABLE s.users (id bigserial PRIMARY KEY, email varchar(100) NOT NULL, bio text);');
    // Assess
    const users = schema.tables.get('s.users');
    expect({
      created: users?.createdMigration,
      email: users?.columns.get('email'),
      bio: users?.columns.get('bio')?.notNull,
      id: users?.columns.get('id')?.notNull,
    }).toEqual({ created: 0, email: { type: { name: 'varchar', mods: [100], array: false }, notNull: true }, bio: false, id: true });
  });

  it('follows renames, type changes, SET/DROP NOT NULL and drops', () => {
    // Act
    const schema = replayAll(
      'CREATE TABLE users (id int, name varchar(10), old text);',
      'ALTER TABLE users RENAME TO people; ALTER TABLE people RENAME COLUMN name TO full_name; ALTER TABLE people ALTER COLUMN full_name TYPE varchar(40), ALTER COLUMN id SET NOT NULL, DROP COLUMN old;',
    );
    // Assess
    const people = schema.tables.get('public.people');
    expect({
      usersGone: schema.tables.has('public.users'),
      columns: [...(people?.columns.keys() ?? [])],
      type: people?.columns.get('full_name')?.type?.mods,
      idNotNull: people?.columns.get('id')?.notNull,
    }).toEqual({ usersGone: false, columns: ['id', 'full_name'], type: [40], idNotNull: true });
  });

  it('records when a NOT VALID check is validated, and which column it proves NOT NULL', () => {
    // Act
    const schema = replayAll(
      'CREATE TABLE users (status text);',
      'ALTER TABLE users ADD CONSTRAINT users_status_nn CHECK (status IS NOT NULL) NOT VALID;',
      'ALTER TABLE users VALIDATE CONSTRAINT users_status_nn;',
    );
    // Assess
    expect(schema.tables.get('public.users')?.checks.get('users_status_nn')).toEqual({
      kind: 'check',
      notNullColumn: 'status',
      columns: ['status'],
      validated: true,
      validatedIn: '2:0',
      addedIn: '1:0',
    });
  });

  it('knows foreign keys, indexes and constrained domains', () => {
    // Act
    const schema = replayAll(
      'CREATE TABLE orgs (id int PRIMARY KEY); CREATE TABLE users (org_id int REFERENCES orgs (id)); CREATE UNIQUE INDEX users_org ON users (org_id); CREATE DOMAIN pos AS int CHECK (VALUE > 0); CREATE DOMAIN free AS int;',
    );
    // Assess
    expect({
      fks: [...(schema.tables.get('public.users')?.foreignKeys ?? [])],
      index: schema.indexes.get('public.users_org'),
      pos: schema.domains.get('public.pos'),
      free: schema.domains.get('public.free'),
    }).toEqual({ fks: ['users_org_id_fkey'], index: { table: 'public.users', columns: ['org_id'], createdMigration: 0 }, pos: { constrained: true }, free: { constrained: false } });
  });
});
