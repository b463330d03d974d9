import { loadParser, splitSql } from '../../../lambdas/core/migrations/sql';
import { planUnits, type ExecutionUnit } from '../../../lambdas/core/migrations/plan';

beforeAll(() => loadParser());

/** A compact picture of a plan: T(n) = transaction of n statements, A = autocommit statement. */
function shape(units: ExecutionUnit[]): string {
  return units
    .map((u) => (u.kind === 'autocommit' ? 'A' : `${u.begin ? 'B' : ''}T${u.statements.length}${u.end ? `:${u.end.text.split(/\s/)[0].toUpperCase()}` : ''}`))
    .join(' ');
}

describe('splitSql', () => {
  it('gives each statement its line and column, skipping comments, with multibyte text', () => {
    const statements = splitSql('-- header\nCREATE TABLE "é" (a int);\n\n  /* x /* nested */ */ CREATE INDEX CONCURRENTLY i ON "é" (a);');
    expect(statements.map((s) => [s.line, s.column, s.kind, s.text])).toEqual([
      [2, 1, 'transactional', 'CREATE TABLE "é" (a int)'],
      [4, 24, 'non-transactional', 'CREATE INDEX CONCURRENTLY i ON "é" (a)'],
    ]);
  });

  it('parses a file that starts with a byte order mark', () => {
    expect(splitSql('\uFEFFSELECT 1;').map((s) => s.text)).toEqual(['SELECT 1']);
  });

  it('returns no statements for an empty or comment-only file', () => {
    expect(splitSql('')).toEqual([]);
    expect(splitSql('-- nothing here\n/* at all */\n')).toEqual([]);
  });

  it('reports a syntax error with file, line and column (the runbook UPDATE ... LIMIT)', () => {
    expect(() => splitSql('SELECT "é";\n  UPDATE users SET status = \'active\' WHERE status IS NULL LIMIT 1000;', { fileName: 'm/migration.sql' })).toThrow(
      'm/migration.sql:2:59: syntax error at or near "LIMIT"',
    );
  });

  it.each([
    ['CREATE INDEX CONCURRENTLY i ON t (a)', 'non-transactional'],
    ['CREATE UNIQUE INDEX i ON t (a)', 'transactional'],
    ['DROP INDEX CONCURRENTLY i', 'non-transactional'],
    ['DROP INDEX i', 'transactional'],
    ['REINDEX INDEX CONCURRENTLY i', 'non-transactional'],
    ['REINDEX TABLE t', 'transactional'],
    ['VACUUM t', 'non-transactional'],
    ['ANALYZE t', 'transactional'],
    ['ALTER SYSTEM SET work_mem = \'64MB\'', 'non-transactional'],
    ['ALTER TABLE p DETACH PARTITION c CONCURRENTLY', 'non-transactional'],
    ['ALTER TABLE p DETACH PARTITION c', 'transactional'],
    ['CREATE DATABASE x', 'non-transactional'],
    ["ALTER TYPE e ADD VALUE 'x'", 'transactional'],
    ['BEGIN', 'begin'],
    ['START TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'begin'],
    ['COMMIT', 'end'],
    ['ROLLBACK', 'end'],
    ['SAVEPOINT s', 'transactional'],
  ])('classifies %s as %s', (sql, kind) => {
    expect(splitSql(sql)[0].kind).toBe(kind);
  });

  it('treats ALTER TYPE ... ADD VALUE as non-transactional before PostgreSQL 12', () => {
    expect(splitSql("ALTER TYPE e ADD VALUE 'x'", { serverVersionNum: 110000 })[0].kind).toBe('non-transactional');
  });
});

describe('planUnits (execution policy)', () => {
  it.each([
    ['only transactional statements: one transaction', 'CREATE TABLE a (id int); ALTER TABLE a ADD b int; CREATE INDEX ON a (b);', 'T3'],
    ['CONCURRENTLY alone', 'CREATE INDEX CONCURRENTLY i ON a (b);', 'A'],
    ['mixed: runs around the concurrent statement', 'ALTER TABLE a ADD c int; CREATE INDEX CONCURRENTLY i ON a (c); COMMENT ON TABLE a IS \'x\'; SELECT 1;', 'T1 A T2'],
    ['explicit block honoured', 'CREATE TABLE a (id int); BEGIN; ALTER TABLE a ADD b int; COMMIT; CREATE TABLE c (id int);', 'T1 BT1:COMMIT T1'],
    ['explicit rollback honoured', 'BEGIN; DROP TABLE a; ROLLBACK;', 'BT1:ROLLBACK'],
    ['COMMIT without BEGIN ends the implicit run', 'CREATE TABLE a (id int); COMMIT; CREATE TABLE b (id int);', 'T1:COMMIT T1'],
    ['two concurrent statements in a row', 'CREATE INDEX CONCURRENTLY i ON a (b); DROP INDEX CONCURRENTLY j;', 'A A'],
    ['empty file', '-- nothing', ''],
  ])('%s', (_name, sql, expected) => {
    expect(shape(planUnits(splitSql(sql)))).toBe(expected);
  });

  it('refuses CONCURRENTLY inside an explicit block, naming both lines', () => {
    expect(() => planUnits(splitSql('BEGIN;\nCREATE INDEX CONCURRENTLY i ON a (b);\nCOMMIT;'), 'x/migration.sql')).toThrow(
      'x/migration.sql:2:1: CREATE INDEX CONCURRENTLY I cannot run inside the transaction block opened at line 1',
    );
  });

  it('refuses a BEGIN that is never closed', () => {
    expect(() => planUnits(splitSql('CREATE TABLE a (id int);\nBEGIN;\nDROP TABLE a;'), 'x/migration.sql')).toThrow(
      'x/migration.sql:2:1: BEGIN has no matching COMMIT or ROLLBACK',
    );
  });
});
