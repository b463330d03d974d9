/** The held-out cases (strong_migrations / Squawk doc examples) classify as lint-rules.md says. */
import { lint } from '../../../lambdas/core/lint';
import { HELDOUT, HELDOUT_HISTORY } from '../../fixtures/lint/heldout-cases';

describe('held-out cases', () => {
  it.each(HELDOUT.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    // Prepare
    const texts = [HELDOUT_HISTORY, ...(c.history ?? []), c.sql];
    const migrations = texts.map((sql, i) => ({ name: `${String(i).padStart(3, '0')}_m`, file: `${c.id}.sql`, sql }));
    // Act
    const report = await lint(migrations, { since: migrations[texts.length - 2].name });
    // Assess
    expect(report.migrations.map((m) => m.verdict)).toEqual([c.expected]);
  });
});
