/**
 * The execution input is checked twice: structurally by the state machine's first states (before
 * any task), then fully by `parseExecutionInput` in the preflight Lambda. These tests run the real
 * ASL offline (aws-local-stepfunctions) up to its first task and check the two agree:
 * - every input the schema accepts (every docs/console.md example) gets past the ASL's checks;
 * - an input the schema refuses never reaches a task other than RunPreflight or
 *   ValidateOneCallInput (preflight in validate mode, ahead of one-call actions), which refuse it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { parseExecutionInput } from '../../lambdas/core/execution-input';
import { settingDefaults, substitutionsOf } from '../../lambdas/core/settings';
import { DEFINITION_SUBSTITUTION_KEYS, readDefinitionText, substituteDefinition } from '../../state-machines/definition';

const SUBSTITUTIONS: Record<(typeof DEFINITION_SUBSTITUTION_KEYS)[number], string> = {
  PreflightFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:preflight',
  ApplyFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:apply',
  BackfillFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:backfill',
  VerifyFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:verify',
  NotificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:migration-runner-production',
  DatabaseKind: 'instance',
  DatabaseIdentifier: 'app-production',
  DatabaseEngine: 'postgres',
  // The environment's settings at their defaults (the settings table); app-production-pitr is the
  // prefix the docs/console.md restore examples use.
  ...(substitutionsOf(settingDefaults({ databaseIdentifier: 'app-production' })) as Record<'RestorePrefix' | 'RestoreInstanceClass' | 'OnFailure' | 'LockTimeoutMs' | 'MonitorMinutes' | 'MaxLoopIterations', string>),
};

const EXECUTION_ARN_PREFIX = 'arn:aws:states:eu-west-1:123456789012:execution:migration-runner-production';

class ReachedTask extends Error {
  override readonly name = 'ReachedTask';
}

interface Verdict {
  /** The first Task state the execution reached, if any. */
  readonly firstTask: string | undefined;
  /** The execution's error when it failed. */
  readonly error: string | undefined;
}

/** The task the current run reached first (runs are sequential within this file). */
let firstTaskOfRun: string | undefined;

/** Built once: validating the definition costs about a second. Every Task stops the run. */
const machine = (() => {
  const definition = substituteDefinition(readDefinitionText(), SUBSTITUTIONS);
  const states = definition.States as Record<string, { Type: string }>;
  const taskResourceLocalHandlers: Record<string, () => Promise<never>> = {};
  // Retry pauses and waits are real seconds on AWS; only the path matters here.
  const retryIntervalOverrides: Record<string, number> = {};
  const waitTimeOverrides: Record<string, number> = {};
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Wait') waitTimeOverrides[name] = 0;
    if (state.Type !== 'Task') continue;
    retryIntervalOverrides[name] = 0;
    taskResourceLocalHandlers[name] = async () => {
      firstTaskOfRun ??= name;
      throw new ReachedTask(name);
    };
  }
  const stateMachine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  return { stateMachine, overrides: { taskResourceLocalHandlers: taskResourceLocalHandlers as never, retryIntervalOverrides, waitTimeOverrides } };
})();

/** Runs the ASL on `input` until its first task. */
async function runUntilFirstTask(input: unknown): Promise<Verdict> {
  firstTaskOfRun = undefined;
  const execution = machine.stateMachine.run(input as never, {
    overrides: machine.overrides,
    context: {
      Execution: {
        Id: `${EXECUTION_ARN_PREFIX}:deploy-20240125T103000Z-a1b2c3`,
        Name: 'deploy-20240125T103000Z-a1b2c3',
        Input: input as never,
        StartTime: '2024-01-25T10:30:00.000Z',
        RoleArn: 'arn:aws:iam::123456789012:role/migration-runner-production-sfn',
      },
      StateMachine: { Id: 'arn:aws:states:eu-west-1:123456789012:stateMachine:migration-runner-production', Name: 'migration-runner-production' },
    },
  });
  try {
    await execution.result;
    return { firstTask: firstTaskOfRun, error: undefined };
  } catch (error) {
    const cause = error instanceof ExecutionError ? ((error as { cause?: { name?: string } }).cause?.name ?? 'States.Runtime') : String(error);
    return { firstTask: firstTaskOfRun, error: cause };
  }
}

function schemaAccepts(input: unknown): boolean {
  try {
    parseExecutionInput(input);
    return true;
  } catch {
    return false;
  }
}

const consoleExamples = [...readFileSync(join(__dirname, '..', '..', 'docs', 'console.md'), 'utf8').matchAll(/^```json\n([\s\S]*?)^```$/gm)].map(
  (m) => JSON.parse(m[1]) as unknown,
);

/** Tasks that receive the raw input and validate it with parseExecutionInput before anything else. */
const VALIDATING_TASKS = ['RunPreflight', 'ValidateOneCallInput'];

describe('the ASL never refuses what the schema accepts', () => {
  it.each(consoleExamples.map((input) => [JSON.stringify(input), input]))('console example %s gets past validation', async (_text, input) => {
    // Prepare
    expect(schemaAccepts(input)).toBe(true);

    // Act
    const verdict = await runUntilFirstTask(input);

    // Assess
    expect(verdict.firstTask).toBeDefined();
  });

  it.each([
    [{ action: 'deploy', lockTimeoutMs: 100, maxLockRetries: 0, monitorMinutes: 0 }],
    [{ action: 'deploy', lockTimeoutMs: 60000, maxLockRetries: 20, monitorMinutes: 180, snapshot: 'never', dryRun: true }],
    [{ action: 'status', approve: [] }],
    [{ action: 'plan', snapshot: 'always' }],
  ])('%j reaches RunPreflight', async (input) => {
    expect(schemaAccepts(input)).toBe(true);
    expect((await runUntilFirstTask(input)).firstTask).toBe('RunPreflight');
  });

  it('refuses a restore target outside the environment\'s prefix, a rule only the environment knows', async () => {
    // Prepare: a valid RDS identifier, and the SOURCE database's own name
    const input = { action: 'restore', restore: { to: 'latest', targetIdentifier: 'app-production' } };
    expect(schemaAccepts(input)).toBe(true);

    // Act
    const verdict = await runUntilFirstTask(input);

    // Assess
    expect(verdict).toEqual({ firstTask: undefined, error: 'InputValidationError' });
  });
});

describe('a deploy-type input the schema refuses is refused before any task but RunPreflight', () => {
  it.each([
    [{}],
    [{ action: 'migrate' }],
    [{ action: 'deploy', lockTimeoutMs: 99 }],
    [{ action: 'deploy', maxLockRetries: 21 }],
    [{ action: 'deploy', monitorMinutes: 181 }],
    [{ action: 'deploy', dryRun: 'yes' }],
    [{ action: 'deploy', snapshot: 'sometimes' }],
    [{ action: 'resolve' }],
    [{ action: 'restore' }],
    [{ action: 'backfill' }],
    [{ action: 'rollback' }],
    [{ action: 'deploy', aprove: ['x'] }],
    [{ action: 'deploy', approve: ['../x'] }],
    [{ action: 'deploy', resolve: { migration: 'x', as: 'applied' } }],
    [{ action: 'status', blockers: { terminate: [1] } }],
  ])('%j', async (input) => {
    // Prepare
    expect(schemaAccepts(input)).toBe(false);

    // Act
    const verdict = await runUntilFirstTask(input);

    // Assess: refused by the ASL itself (no task ran), or handed to a task that validates first
    expect(verdict.firstTask ?? verdict.error).toMatch(new RegExp(`^(InputValidationError|${VALIDATING_TASKS.join('|')})$`));
  });
});

// One-call actions (blockers, resolve, rollback, backfill, restore to "latest" or a time) skip the
// full preflight so they work with the database in trouble; ValidateOneCallInput (preflight in
// validate mode, no connection) runs the schema on their input before their task.
describe('one-call actions: the schema sees their input before their task', () => {
  it.each([
    [{ action: 'restore', restore: { to: 'yesterday' } }],
    [{ action: 'restore', restore: { to: '2024-01-25T10:30:00' } }],
    [{ action: 'restore', restore: { to: 'latest' }, aprove: ['x'] }],
    [{ action: 'resolve', resolve: { migration: '../20240125103000_x', as: 'applied' } }],
    [{ action: 'rollback', rollback: { migration: 'x' }, lockTimeoutMs: 3000, foo: 1 }],
    [{ action: 'blockers', blockers: { terminate: [1], kill: true } }],
    [{ action: 'backfill', backfill: { name: 'users_status', command: 'stop' } }],
  ])('%j', async (input) => {
    expect(schemaAccepts(input)).toBe(false);
    const verdict = await runUntilFirstTask(input);
    expect(verdict.firstTask ?? verdict.error).toMatch(new RegExp(`^(InputValidationError|${VALIDATING_TASKS.join('|')})$`));
  });
});
