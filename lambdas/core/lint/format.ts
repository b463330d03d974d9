/** Human text and JSON renderings of a LintReport. */
import type { Finding, LintReport } from './types';

export interface TextOptions {
  /** Include findings of severity `safe` (informational) and suppressed ones. @default false */
  readonly verbose?: boolean;
}

export function formatJson(report: LintReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function formatText(report: LintReport, options: TextOptions = {}): string {
  const out: string[] = [];
  for (const m of report.migrations) {
    if (m.error) {
      out.push(`${m.file}: error`, `  ${m.error.message}`, '');
      continue;
    }
    const shown = m.findings.filter((f) => options.verbose || (f.severity !== 'safe' && !f.suppressed));
    out.push(`${m.file}: ${m.verdict}${shown.length ? '' : ' (no findings)'}`);
    for (const f of shown) out.push(...formatFinding(m.file, f));
    out.push('');
  }
  const counts = { safe: 0, careful: 0, dangerous: 0, error: 0 };
  for (const m of report.migrations) counts[m.verdict]++;
  out.push(
    `verdict: ${report.verdict} (${report.migrations.length} migration${report.migrations.length === 1 ? '' : 's'}: ` +
      `${counts.dangerous} dangerous, ${counts.careful} careful, ${counts.safe} safe${counts.error ? `, ${counts.error} with errors` : ''})`,
  );
  return `${out.join('\n')}\n`;
}

function formatFinding(file: string, f: Finding): string[] {
  const firstLine = f.statement.split('\n')[0];
  return [
    `  ${file}:${f.line}:${f.column} ${f.severity.toUpperCase()} ${f.rule} (${f.id})${f.suppressed ? ` [suppressed: ${f.suppressionReason}]` : ''}`,
    `    ${firstLine.length > 120 ? `${firstLine.slice(0, 117)}...` : firstLine}`,
    `    ${f.message}`,
    `    lock: ${f.lock}; blocks: ${f.blocks}${f.rewrites === 'none' ? '' : `; ${f.rewrites === 'rewrite' ? 'rewrites the table' : 'scans the table'}`}`,
    `    fix: ${f.fix}`,
  ];
}
