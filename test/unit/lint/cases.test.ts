/**
 * Every labelled case (test/fixtures/lint/labelled-cases.ts): the verdict, the rules that must fire
 * and the rules that must stay silent, linted after the shared schema history.
 */
import { lint, type LintReport } from '../../../lambdas/core/lint';
import { BASE_HISTORY, CASES, HYGIENE_CASES, type LabelledCase } from '../../fixtures/lint/labelled-cases';

async function lintCase(c: LabelledCase): Promise<LintReport> {
  const history = [BASE_HISTORY, ...(c.history ?? [])];
  const migrations = [...history, c.sql].map((sql, i) => ({ name: `${String(i).padStart(3, '0')}_m`, file: `m${i}/migration.sql`, sql }));
  return lint(migrations, { pgVersion: c.pg, since: migrations[history.length - 1].name, timeouts: c.timeouts, hygiene: c.hygiene, catalog: c.catalog ? { tables: c.catalog } : undefined });
}

describe('labelled cases', () => {
  it('holds at least 80 cases with unique ids', () => {
    // Prepare / Act
    const ids = new Set(CASES.map((c) => c.id));
    // Assess
    expect(CASES.length).toBeGreaterThanOrEqual(80);
    expect(ids.size).toBe(CASES.length);
  });

  it.each([...CASES, ...HYGIENE_CASES].map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    // Act
    const report = await lintCase(c);
    // Assess
    expect(report.migrations).toHaveLength(1);
    const [migration] = report.migrations;
    const fired = migration.findings.filter((f) => !f.suppressed).map((f) => f.rule);
    expect({ verdict: migration.verdict, fired }).toEqual({ verdict: c.expected, fired: expect.arrayContaining([...(c.fires ?? [])]) });
    for (const rule of c.silent ?? []) expect(fired).not.toContain(rule);
  });
});
