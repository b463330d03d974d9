/**
 * How our apply runs a file (prisma-protocol.md, "Ours"): a file of transactional statements runs
 * as ONE transaction; each non-transactional statement (CONCURRENTLY, VACUUM, ...) runs alone in
 * autocommit and splits the transactional runs around it into separate transactions; explicit
 * BEGIN/COMMIT are honoured as written. This model tells the rules which statements share a
 * transaction, and so how long each lock is held.
 */
import type { SqlStatement } from '../migrations/sql';

export interface StatementTxn {
  /** Unique within the whole lint run: "<migration index>:<transaction number>". */
  readonly key: string;
  /**
   * implicit: a run of transactional statements the runner wraps in one transaction;
   * explicit: inside the file's own BEGIN ... COMMIT; autocommit: runs alone outside any transaction.
   */
  readonly mode: 'implicit' | 'explicit' | 'autocommit';
  /** For BEGIN/COMMIT statements: what is wrong with the block structure, if anything. */
  readonly structure?: 'nested-begin' | 'commit-without-begin' | 'begin-without-commit';
}

export interface TransactionModel {
  readonly perStatement: StatementTxn[];
  /** True when the file holds a statement that must run outside a transaction (the file is not atomic). */
  readonly hasNonTransactional: boolean;
}

export function modelTransactions(statements: readonly SqlStatement[], migrationIndex: number): TransactionModel {
  const perStatement: StatementTxn[] = [];
  let counter = 0;
  let explicit: { key: string; beginIndex: number } | undefined;
  let implicit: string | undefined;
  const next = () => `${migrationIndex}:${counter++}`;
  for (const stmt of statements) {
    if (stmt.kind === 'begin') {
      if (explicit) {
        perStatement.push({ key: explicit.key, mode: 'explicit', structure: 'nested-begin' });
        continue;
      }
      implicit = undefined;
      explicit = { key: next(), beginIndex: perStatement.length };
      perStatement.push({ key: explicit.key, mode: 'explicit' });
    } else if (stmt.kind === 'end') {
      if (!explicit) {
        perStatement.push({ key: next(), mode: 'autocommit', structure: 'commit-without-begin' });
        continue;
      }
      perStatement.push({ key: explicit.key, mode: 'explicit' });
      explicit = undefined;
    } else if (explicit) {
      perStatement.push({ key: explicit.key, mode: 'explicit' });
    } else if (stmt.kind === 'non-transactional') {
      implicit = undefined;
      perStatement.push({ key: next(), mode: 'autocommit' });
    } else {
      implicit ??= next();
      perStatement.push({ key: implicit, mode: 'implicit' });
    }
  }
  if (explicit) perStatement[explicit.beginIndex] = { ...perStatement[explicit.beginIndex], structure: 'begin-without-commit' };
  return { perStatement, hasNonTransactional: statements.some((s) => s.kind === 'non-transactional') };
}
