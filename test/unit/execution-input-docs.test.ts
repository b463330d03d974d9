import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { EXECUTION_ACTIONS, executionInputJsonSchema, parseExecutionInput } from '../../lambdas/core/execution-input';
import { renderExecutionInputSchema, SCHEMA_PATH } from '../../scripts/gen-schema';

const CONSOLE_MD = join(__dirname, '..', '..', 'docs', 'console.md');

/** Every ```json fenced block of a Markdown text. */
function jsonBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
}

// strictRequired is off: it flags `required` in if/then subschemas, which is valid 2020-12.
function compileJsonSchema() {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(executionInputJsonSchema());
}
/** Compiled once for the agreement checks (compiling costs more than validating). */
let compiled: ReturnType<typeof compileJsonSchema> | undefined;
const validator = () => (compiled ??= compileJsonSchema());

describe('docs/execution-input.schema.json', () => {
  it('is exactly what `npm run gen:schema` generates (run it after changing the schema)', () => {
    // Prepare
    const committed = readFileSync(SCHEMA_PATH, 'utf8');

    // Act
    const generated = renderExecutionInputSchema();

    // Assess
    expect(committed).toBe(generated);
  });

  it('is a valid draft 2020-12 schema', () => {
    expect(() => compileJsonSchema()).not.toThrow();
  });

  // The JSON Schema and the zod schema must agree, or console users would be told a wrong input is fine.
  it.each([
    [{ action: 'deploy' }, true],
    [{ action: 'deploy', approve: ['20240125103000_x'], lockTimeoutMs: 100 }, true],
    [{ action: 'restore', restore: { to: '2024-01-25T10:30:00Z', targetIdentifier: 'app-1' } }, true],
    [{ action: 'blockers', blockers: { terminate: [42] } }, true],
    [{}, false],
    [{ action: 'deploy', foo: 1 }, false],
    [{ action: 'deploy', lockTimeoutMs: 99 }, false],
    [{ action: 'deploy', approve: ['../x'] }, false],
    [{ action: 'resolve' }, false],
    [{ action: 'deploy', resolve: { migration: 'x', as: 'applied' } }, false],
    [{ action: 'deploy', blockers: {} }, false],
    [{ action: 'restore', restore: { to: '2024-01-25T10:30:00' } }, false],
    [{ action: 'restore', restore: { to: 'latest', targetIdentifier: 'app--1' } }, false],
  ])('agrees with parseExecutionInput on %j (valid: %s)', (raw, valid) => {
    const validate = validator();
    let zodAccepts = true;
    try {
      parseExecutionInput(raw);
    } catch {
      zodAccepts = false;
    }
    expect([validate(raw), zodAccepts]).toEqual([valid, valid]);
  });
});

describe('docs/console.md', () => {
  const markdown = readFileSync(CONSOLE_MD, 'utf8');
  const blocks = jsonBlocks(markdown);

  it('has copy-paste inputs for every action', () => {
    const actions = new Set(blocks.map((block) => (JSON.parse(block) as { action: string }).action));
    expect([...actions].sort()).toEqual([...EXECUTION_ACTIONS].sort());
  });

  it('covers deploy with approval, both resolve directions, blockers with terminate, every backfill command and restore', () => {
    const inputs = blocks.map((block) => parseExecutionInput(JSON.parse(block)));
    expect(inputs.some((i) => i.action === 'deploy' && i.approve.length > 0)).toBe(true);
    expect(inputs.filter((i) => i.action === 'resolve').map((i) => i.resolve?.as).sort()).toEqual(['applied', 'rolled-back']);
    expect(inputs.some((i) => (i.blockers?.terminate.length ?? 0) > 0)).toBe(true);
    expect(inputs.flatMap((i) => (i.backfill ? [i.backfill.command] : [])).sort()).toEqual(['cancel', 'pause', 'resume', 'run']);
    expect(inputs.filter((i) => i.action === 'restore').map((i) => i.restore?.to)).toEqual(expect.arrayContaining(['pre-migration', 'latest']));
  });

  it.each(jsonBlocks(readFileSync(CONSOLE_MD, 'utf8')).map((block, index) => [index + 1, block]))(
    'JSON block %i is a valid execution input',
    (_index, block) => {
      const raw: unknown = JSON.parse(block);
      expect(() => parseExecutionInput(raw)).not.toThrow();
      expect(validator()(raw)).toBe(true);
    },
  );
});
