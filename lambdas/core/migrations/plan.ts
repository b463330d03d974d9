/**
 * Our execution policy for one migration file (see README "Execution policy"):
 * - statements that cannot run in a transaction block run alone, in autocommit;
 * - each run of transactional statements between them runs as one transaction (so a file with only
 *   transactional statements is atomic);
 * - explicit BEGIN ... COMMIT/ROLLBACK blocks are honoured as written (each block is one unit).
 * Planning happens before anything runs, so a file that cannot work fails before touching the database.
 */
import { SqlSyntaxError } from '../errors';
import type { SqlStatement } from './sql';

export type ExecutionUnit =
  | {
      readonly kind: 'transaction';
      /** The file's own BEGIN / COMMIT or ROLLBACK, when the block is explicit. */
      readonly begin?: SqlStatement;
      readonly end?: SqlStatement;
      readonly statements: readonly SqlStatement[];
    }
  | { readonly kind: 'autocommit'; readonly statement: SqlStatement };

interface OpenBlock {
  begin?: SqlStatement;
  statements: SqlStatement[];
}

export function planUnits(statements: readonly SqlStatement[], file = 'migration.sql'): ExecutionUnit[] {
  const units: ExecutionUnit[] = [];
  let open: OpenBlock | undefined;
  const close = (end?: SqlStatement) => {
    if (open && (open.statements.length > 0 || open.begin || end)) {
      units.push({ kind: 'transaction', begin: open.begin, end, statements: open.statements });
    }
    open = undefined;
  };
  for (const statement of statements) {
    switch (statement.kind) {
      case 'begin':
        if (open?.begin) {
          // PostgreSQL only warns about a BEGIN inside a block; keep it where it is.
          open.statements.push(statement);
        } else {
          close();
          open = { begin: statement, statements: [] };
        }
        break;
      case 'end':
        // A COMMIT with nothing open is a no-op in PostgreSQL (a warning): skip it.
        if (open) close(statement);
        break;
      case 'non-transactional':
        if (open?.begin) {
          throw new SqlSyntaxError(
            `${file}:${statement.line}:${statement.column}: ${firstWords(statement.text)} cannot run inside the transaction block opened at line ${open.begin.line}`,
            { details: { file, line: statement.line, column: statement.column } },
          );
        }
        close();
        units.push({ kind: 'autocommit', statement });
        break;
      default:
        open ??= { statements: [] };
        open.statements.push(statement);
    }
  }
  if (open?.begin) {
    throw new SqlSyntaxError(`${file}:${open.begin.line}:${open.begin.column}: BEGIN has no matching COMMIT or ROLLBACK`, {
      details: { file, line: open.begin.line, column: open.begin.column },
    });
  }
  close();
  return units;
}

export function firstWords(sql: string, words = 4): string {
  return sql.split(/\s+/).slice(0, words).join(' ').toUpperCase();
}
