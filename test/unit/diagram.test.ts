/**
 * The state machine diagram is generated from the ASL (scripts/gen-diagram.ts); the copies in the
 * README and docs/state-machine.md must be exactly what the generator makes of the current definition.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { blockIn, describeRule, diagramBlock, DIAGRAM_TARGETS, mermaidFromAsl, withBlock } from '../../scripts/gen-diagram';

const ASL = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'state-machines', 'migration.asl.json'), 'utf8')) as {
  StartAt: string;
  States: Record<string, { Type: string; Next?: string; Default?: string; Choices?: { Next: string }[]; Catch?: { Next: string }[] }>;
};

describe('state machine diagram', () => {
  it.each(DIAGRAM_TARGETS.map((file) => [path.relative(path.join(__dirname, '..', '..'), file), file]))('%s holds the diagram generated from the current ASL (run npm run gen:diagram)', (_name, file) => {
    const document = readFileSync(file, 'utf8');
    expect(blockIn(document)).toBe(diagramBlock());
  });

  it('draws every state and every Next, Default, Choice and Catch edge of the ASL', () => {
    const chart = mermaidFromAsl(ASL as never);
    const lines = chart.split('\n').map((l) => l.trim());
    for (const [name, state] of Object.entries(ASL.States)) {
      expect(lines.some((l) => l.startsWith(`${name}[`) || l.startsWith(`${name}{`) || l.startsWith(`${name}(`) || l.startsWith(`${name}>`))).toBe(true);
      const targets = [state.Next, state.Default, ...(state.Choices ?? []).map((c) => c.Next), ...(state.Catch ?? []).map((c) => c.Next)].filter((t): t is string => t !== undefined);
      for (const target of targets) {
        expect({ from: name, to: target, drawn: lines.some((l) => l.startsWith(`${name} -`) && l.endsWith(` ${target}`)) }).toEqual({ from: name, to: target, drawn: true });
      }
    }
    expect(lines).toContain(`START((start)) --> ${ASL.StartAt}`);
  });

  it('labels choice rules and catches, merging rules to the same state', () => {
    const chart = mermaidFromAsl({
      StartAt: 'Route',
      States: {
        Route: {
          Type: 'Choice',
          Choices: [
            { Variable: '$.action', StringEquals: 'deploy', Next: 'Work' },
            { Variable: '$.action', StringEquals: 'plan', Next: 'Work' },
            { Not: { Variable: '$.action', IsPresent: true }, Next: 'Bad' },
          ],
          Default: 'Bad',
        },
        Work: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Catch: [{ ErrorEquals: ['MigrationFailedError'], Next: 'Bad' }], End: true },
        Bad: { Type: 'Fail' },
      },
    } as never);
    expect(chart).toContain(`Route -->|"2 rules, e.g. action == 'deploy'"| Work`);
    expect(chart).toContain('Route -->|"action absent"| Bad');
    expect(chart).toContain('Route -->|default| Bad');
    expect(chart).toContain('Work -.->|"catch MigrationFailedError"| Bad');
    expect(chart).toContain('Route{"Route"}');
    expect(chart).toContain('Bad(["Bad"])');
  });

  it('describes comparisons, paths and compound rules', () => {
    expect(describeRule({ Variable: '$.counters.loopIterations', NumericGreaterThanEqualsPath: '$.env.maxLoopIterations' })).toBe('counters.loopIterations >= env.maxLoopIterations');
    expect(describeRule({ And: [{ Variable: '$.a', BooleanEquals: true }, { Variable: '$.b', NumericLessThan: 3 }] })).toBe('a == true and b < 3');
    expect(describeRule({ Variable: '$.x', IsString: false })).toBe('x not string');
  });

  it('replacing the block keeps the rest of the document and refuses a document without markers', () => {
    const doc = `intro\n${diagramBlock('{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}')}\noutro\n`;
    const updated = withBlock(doc, diagramBlock());
    expect(updated.startsWith('intro\n')).toBe(true);
    expect(updated.endsWith('\noutro\n')).toBe(true);
    expect(blockIn(updated)).toBe(diagramBlock());
    expect(() => withBlock('no markers', diagramBlock())).toThrow(/markers are missing/);
  });
});
