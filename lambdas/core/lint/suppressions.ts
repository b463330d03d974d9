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
  /** The statement it applies to; -1 when it is not directly above one. */
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
  // A suppression not directly above a statement (end of file, inside a statement) applies to nothing.
  const attached = new Set(out.map((x) => x.line));
  lines.forEach((text, i) => {
    const m = MARKER.exec(text.trim());
    if (!m || attached.has(i + 1)) return;
    const [rule = '', ...reason] = m[1].trim().split(/\s+/);
    out.push({ rule: rule.toLowerCase(), reason: reason.join(' '), line: i + 1, statementIndex: -1, used: false });
  });
  return out;
}
