/** The rule registry: one rule per table row, each described, each exercised by a labelled case. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULES } from '../../../lambdas/core/lint';
import { CASES, HYGIENE_CASES } from '../../fixtures/lint/labelled-cases';

describe('rule registry', () => {
  it('has unique ids and kebab-case names', () => {
    // Act
    const ids = new Set(RULES.map((r) => r.id));
    const names = new Set(RULES.map((r) => r.name));
    // Assess
    expect([ids.size, names.size]).toEqual([RULES.length, RULES.length]);
    for (const rule of RULES) expect(rule.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it.each(RULES.map((r) => [`${r.id} ${r.name}`, r] as const))('%s says what it locks, what that blocks, and the fix', (_label, rule) => {
    // Assess
    expect({ lock: rule.lock.length > 0, blocks: rule.blocks.length > 0, fix: rule.fix.length > 10, rewrites: ['rewrite', 'scan', 'none'].includes(rule.rewrites) }).toEqual({
      lock: true,
      blocks: true,
      fix: true,
      rewrites: true,
    });
  });

  it('every rule fires in at least one labelled case', () => {
    // Prepare
    const fired = new Set([...CASES, ...HYGIENE_CASES].flatMap((c) => c.fires ?? []));
    // Act
    const neverFired = RULES.map((r) => r.name).filter((n) => !fired.has(n));
    // Assess
    expect(neverFired).toEqual([]);
  });
});

describe('docs/lint.md', () => {
  it('documents every rule', () => {
    // Prepare
    const docs = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'lint.md'), 'utf8');
    // Act
    const missing = RULES.filter((r) => !docs.includes(`| ${r.id} | \`${r.name}\` |`)).map((r) => r.name);
    // Assess
    expect(missing).toEqual([]);
  });
});
