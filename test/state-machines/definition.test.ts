/**
 * Static checks of state-machines/migration.asl.json: valid ASL, the error-name contract with
 * lambdas/core/errors.ts, timeouts on every Task, placeholders equal to the construct's keys,
 * every state reachable, JSONPath only.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { ERROR_NAMES } from '../../lambdas/core/errors';
import { DEFINITION_SUBSTITUTION_KEYS } from '../../lib/migration-runner';
import { placeholdersOf, readDefinitionText, substituteDefinition } from '../../state-machines/definition';

type State = Record<string, unknown> & { Type: string };
// asl-validator ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errors: unknown[] };
const text = readDefinitionText();
const raw = JSON.parse(text) as { States: Record<string, State>; StartAt: string; QueryLanguage?: string; TimeoutSeconds?: number };
const sampleValues = Object.fromEntries(DEFINITION_SUBSTITUTION_KEYS.map((key) => [key, key.endsWith('Arn') ? `arn:aws:lambda:eu-west-1:111122223333:function:${key}` : '5']));

/** Every state, including those nested in Map/Parallel. */
function allStates(states: Record<string, State>): [string, State][] {
  const out: [string, State][] = [];
  for (const [name, state] of Object.entries(states)) {
    out.push([name, state]);
    const nested = [state.Iterator, state.ItemProcessor, ...((state.Branches as unknown[]) ?? [])] as ({ States: Record<string, State> } | undefined)[];
    for (const machine of nested) if (machine) out.push(...allStates(machine.States));
  }
  return out;
}

function errorNames(state: State): string[] {
  const lists = [...((state.Retry as { ErrorEquals: string[] }[]) ?? []), ...((state.Catch as { ErrorEquals: string[] }[]) ?? [])];
  return lists.flatMap((entry) => entry.ErrorEquals);
}

describe('migration.asl.json', () => {
  it('is valid ASL for asl-validator, with placeholders substituted', () => {
    const { isValid, errors } = aslValidator(substituteDefinition(text, sampleValues));
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  it('is accepted by aws-local-stepfunctions with its own validation', () => {
    expect(() => new StateMachine(substituteDefinition(text, sampleValues) as never)).not.toThrow();
  });

  it('uses JSONPath only (aws-local-stepfunctions ignores JSONata and variables)', () => {
    expect(raw.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(text).not.toMatch(/"(Assign|Arguments|Output|QueryLanguage)"\s*:/);
  });

  it('matches only error names exported by core, or States.* / Lambda.* / Rds.*', () => {
    const names = allStates(raw.States).flatMap(([, state]) => errorNames(state));
    expect(names.length).toBeGreaterThan(20);
    const foreign = names.filter((name) => !(ERROR_NAMES as readonly string[]).includes(name) && !/^(States|Lambda|Rds)\.[A-Za-z]+$/.test(name));
    expect(foreign).toEqual([]);
  });

  it('fails only with error names exported by core or States.*', () => {
    const failErrors = allStates(raw.States).filter(([, s]) => s.Type === 'Fail' && typeof s.Error === 'string').map(([, s]) => s.Error as string);
    const passErrors = allStates(raw.States)
      .filter(([, s]) => s.Type === 'Pass' && typeof (s.Parameters as Record<string, unknown> | undefined)?.Error === 'string')
      .map(([, s]) => (s.Parameters as Record<string, string>).Error);
    const all = [...failErrors, ...passErrors];
    expect(all).toContain('InputValidationError');
    expect(all.filter((name) => !(ERROR_NAMES as readonly string[]).includes(name) && !name.startsWith('States.'))).toEqual([]);
  });

  it('gives every Task a TimeoutSeconds and a Retry', () => {
    const tasks = allStates(raw.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(15);
    expect(tasks.filter(([, s]) => typeof s.TimeoutSeconds !== 'number').map(([n]) => n)).toEqual([]);
    expect(tasks.filter(([, s]) => !Array.isArray(s.Retry)).map(([n]) => n)).toEqual([]);
    expect(raw.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('retries Lambda service errors on every Lambda task and never retries our own refusals', () => {
    const lambdaTasks = allStates(raw.States).filter(([, s]) => s.Resource === 'arn:aws:states:::lambda:invoke');
    expect(lambdaTasks.length).toBeGreaterThanOrEqual(8);
    for (const [name, state] of lambdaTasks) {
      const retried = ((state.Retry as { ErrorEquals: string[] }[]) ?? []).flatMap((r) => r.ErrorEquals);
      expect({ name, hasServiceRetry: retried.includes('Lambda.ServiceException') }).toEqual({ name, hasServiceRetry: true });
      for (const refusal of ['DangerousMigrationNotApprovedError', 'MigrationFailedError', 'InputValidationError', 'States.ALL']) {
        expect({ name, retries: retried.includes(refusal) }).toEqual({ name, retries: false });
      }
    }
  });

  it('has placeholders equal to the construct substitution keys', () => {
    expect(placeholdersOf(text)).toEqual([...DEFINITION_SUBSTITUTION_KEYS].sort());
  });

  it('reaches every state from StartAt, and every Next/Default names a state', () => {
    const states = raw.States;
    const targets = (s: State): string[] => [
      ...(typeof s.Next === 'string' ? [s.Next] : []),
      ...(typeof s.Default === 'string' ? [s.Default] : []),
      ...((s.Choices as { Next: string }[]) ?? []).map((c) => c.Next),
      ...((s.Catch as { Next: string }[]) ?? []).map((c) => c.Next),
    ];
    const seen = new Set<string>();
    const queue = [raw.StartAt];
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (seen.has(name)) continue;
      expect(Object.keys(states)).toContain(name);
      seen.add(name);
      queue.push(...targets(states[name]));
    }
    expect(Object.keys(states).filter((name) => !seen.has(name))).toEqual([]);
  });

  it('polls RDS with a failed branch and an iteration cap in every loop', () => {
    for (const choice of ['IsSnapshotAvailable', 'IsRestoredClusterAvailable', 'IsRestoredInstanceAvailable']) {
      const rules = JSON.stringify(raw.States[choice].Choices);
      expect(rules).toContain('"StringEquals":"available"');
      expect(rules).toContain('"StringEquals":"failed"');
      expect(rules).toMatch(/"NumericGreaterThanEquals":\d+/);
    }
    expect(JSON.stringify(raw.States.CheckBackfillProgress.Choices)).toContain('"NumericGreaterThanEqualsPath":"$.env.maxLoopIterations"');
  });
});
