/**
 * `-- migration-runner:allow <rule-name> <reason>` on the line(s) directly above a statement
 * suppresses that rule's findings for the statement. A suppression without a reason does not
 * suppress (fail closed) and is itself a finding; one that matched nothing is reported.
 */
import type { SqlStatement } from '../migrations/sql';

export interface Suppression {
  /** Rule name or id as written (lower-cased). */
  readonly rule: string;
  readonly reason: string;
  readonly line: number;
  readonly statementIndex: number;
  used: boolean;
}

const MARKER = /^--\s*migration-runner:allow\b(.*)$/;

/** Suppressions in the comment lines directly above each statement. */
export function findSuppressions(sql: string, statements: readonly SqlStatement[]): Suppression[] {
  const lines = sql.split(/\r?\n/);
  const out: Suppression[] = [];
  for (const stmt of statements) {
    for (let n = stmt.line - 1; n >= 1; n--) {
      const text = lines[n - 1].trim();
      if (!text.startsWith('--')) break;
      const m = MARKER.exec(text);
      if (!m) continue;
      const [rule = '', ...reason] = m[1].trim().split(/\s+/);
      out.push({ rule: rule.toLowerCase(), reason: reason.join(' '), line: n, statementIndex: stmt.index, used: false });
    }
  }
  return out;
}
