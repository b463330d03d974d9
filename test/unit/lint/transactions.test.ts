/** The transaction model matches our apply policy (prisma-protocol.md, "Ours"). */
import { loadParser, splitSql } from '../../../lambdas/core/migrations/sql';
import { modelTransactions } from '../../../lambdas/core/lint/transactions';

beforeAll(() => loadParser());

/** "a a b" style: statements sharing a letter share a transaction; '-' is autocommit. */
function shape(sql: string): { groups: string; modes: string[]; structure: (string | undefined)[] } {
  const model = modelTransactions(splitSql(sql), 0);
  const letters = new Map<string, string>();
  const groups = model.perStatement
    .map((t) => {
      if (t.mode === 'autocommit') return '-';
      if (!letters.has(t.key)) letters.set(t.key, String.fromCharCode(97 + letters.size));
      return letters.get(t.key);
    })
    .join(' ');
  return { groups, modes: model.perStatement.map((t) => t.mode), structure: model.perStatement.map((t) => t.structure) };
}

describe('modelTransactions', () => {
  it.each([
    ['only transactional statements: one transaction', 'CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN b int; CREATE INDEX i ON t (a);', 'a a a'],
    ['CONCURRENTLY runs alone and splits the runs around it', 'ALTER TABLE t ADD COLUMN b int; CREATE INDEX CONCURRENTLY i ON t (b); ALTER TABLE t ADD COLUMN c int;', 'a - b'],
    ['two non-transactional statements in a row', 'DROP INDEX CONCURRENTLY i; CREATE INDEX CONCURRENTLY j ON t (a);', '- -'],
    ['explicit blocks honoured as written', 'BEGIN; ALTER TABLE t ADD COLUMN b int; COMMIT; ALTER TABLE t ADD COLUMN c int; ALTER TABLE t ADD COLUMN d int;', 'a a a b b'],
    ['statements after COMMIT start a new implicit run', 'ALTER TABLE t ADD COLUMN a int; BEGIN; ALTER TABLE t ADD COLUMN b int; COMMIT; ALTER TABLE t ADD COLUMN c int;', 'a b b b c'],
    ['VACUUM inside BEGIN stays in the block (and fails there)', 'BEGIN; VACUUM t; COMMIT;', 'a a a'],
  ])('%s', (_name, sql, groups) => {
    // Act
    const result = shape(sql);
    // Assess
    expect(result.groups).toBe(groups);
  });

  it.each([
    ['nested BEGIN', 'BEGIN; BEGIN; SELECT 1; COMMIT;', [undefined, 'nested-begin', undefined, undefined]],
    ['COMMIT without BEGIN', 'SELECT 1; COMMIT;', [undefined, 'commit-without-begin']],
    ['BEGIN without COMMIT', 'BEGIN; SELECT 1;', ['begin-without-commit', undefined]],
    ['well-formed block', 'BEGIN; SELECT 1; COMMIT;', [undefined, undefined, undefined]],
  ])('structure: %s', (_name, sql, structure) => {
    // Act
    const result = shape(sql);
    // Assess
    expect(result.structure).toEqual(structure);
  });

  it('marks a file with a non-transactional statement as not atomic', () => {
    // Act
    const atomic = modelTransactions(splitSql('CREATE TABLE t (a int);'), 0);
    const split = modelTransactions(splitSql('CREATE TABLE t (a int); CREATE INDEX CONCURRENTLY i ON t (a);'), 0);
    // Assess
    expect([atomic.hasNonTransactional, split.hasNonTransactional]).toEqual([false, true]);
  });
});
