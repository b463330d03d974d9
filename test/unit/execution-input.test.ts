import { InputValidationError } from '../../lambdas/core/errors';
import {
  EXECUTION_ACTIONS,
  EXECUTION_INPUT_DEFAULTS,
  executionInputJsonSchema,
  parseExecutionInput,
} from '../../lambdas/core/execution-input';

/** The message of the InputValidationError thrown for `raw` (fails the test when nothing is thrown). */
function rejection(raw: unknown): string {
  let caught: unknown;
  try {
    parseExecutionInput(raw);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InputValidationError);
  return (caught as Error).message;
}

describe('parseExecutionInput: defaults', () => {
  it('applies every documented default when only action is sent', () => {
    // Prepare
    const raw = { action: 'deploy' };

    // Act
    const input = parseExecutionInput(raw);

    // Assess
    expect(input).toEqual({
      action: 'deploy',
      snapshot: 'auto',
      approve: [],
      dryRun: false,
      lockTimeoutMs: 3000,
      maxLockRetries: 5,
      monitorMinutes: 15,
    });
    expect(input).toEqual({ action: 'deploy', ...EXECUTION_INPUT_DEFAULTS });
  });

  it.each([
    ['snapshot', 'auto'],
    ['approve', []],
    ['dryRun', false],
    ['lockTimeoutMs', 3000],
    ['maxLockRetries', 5],
    ['monitorMinutes', 15],
  ] as const)('defaults %s to %j', (field, expected) => {
    const input = parseExecutionInput({ action: 'status' });
    expect(input[field]).toEqual(expected);
  });

  it('gives each parse its own approve array (a default is never shared)', () => {
    const first = parseExecutionInput({ action: 'deploy' });
    first.approve.push('mutated');
    const second = parseExecutionInput({ action: 'deploy' });
    expect(second.approve).toEqual([]);
  });

  it('defaults blockers.terminate to an empty list', () => {
    expect(parseExecutionInput({ action: 'blockers', blockers: {} }).blockers).toEqual({ terminate: [] });
  });

  it('does not mutate the raw input', () => {
    const raw = { action: 'deploy' };
    parseExecutionInput(raw);
    expect(raw).toEqual({ action: 'deploy' });
  });
});

describe('parseExecutionInput: overrides', () => {
  it.each(EXECUTION_ACTIONS.filter((a) => !['resolve', 'restore', 'backfill', 'rollback'].includes(a)))('accepts action %s alone', (action) => {
    expect(parseExecutionInput({ action }).action).toBe(action);
  });

  it.each([
    ['snapshot', 'always'],
    ['snapshot', 'never'],
    ['approve', ['20240125103000_drop_legacy_column', '20240201090000_drop_table']],
    ['dryRun', true],
    ['lockTimeoutMs', 100],
    ['lockTimeoutMs', 60000],
    ['maxLockRetries', 0],
    ['maxLockRetries', 20],
    ['monitorMinutes', 0],
    ['monitorMinutes', 180],
  ] as const)('keeps %s = %j', (field, value) => {
    const input = parseExecutionInput({ action: 'deploy', [field]: value });
    expect(input[field]).toEqual(value);
  });

  it.each([
    [{ action: 'resolve', resolve: { migration: '20240125103000_x', as: 'applied' } }, 'resolve'],
    [{ action: 'resolve', resolve: { migration: '20240125103000_x', as: 'rolled-back' } }, 'resolve'],
    [{ action: 'restore', restore: { to: 'pre-migration' } }, 'restore'],
    [{ action: 'restore', restore: { to: 'latest', targetIdentifier: 'app-production-recovery-1' } }, 'restore'],
    [{ action: 'restore', restore: { to: '2024-01-25T10:30:00Z' } }, 'restore'],
    [{ action: 'restore', restore: { to: '2024-01-25T10:30:00.123+02:00', targetIdentifier: 'A' } }, 'restore'],
    [{ action: 'backfill', backfill: { name: 'users_status', command: 'run' } }, 'backfill'],
    [{ action: 'backfill', backfill: { name: 'users_status', command: 'pause' } }, 'backfill'],
    [{ action: 'backfill', backfill: { name: 'users_status', command: 'resume' } }, 'backfill'],
    [{ action: 'backfill', backfill: { name: 'users_status', command: 'cancel' } }, 'backfill'],
    [{ action: 'blockers', blockers: { terminate: [12345, 678] } }, 'blockers'],
    [{ action: 'rollback', rollback: { migration: '20240125103000_x' } }, 'rollback'],
  ] as const)('keeps the %j block', (raw, block) => {
    const input = parseExecutionInput(raw);
    expect(input[block]).toEqual(raw[block as keyof typeof raw]);
  });

  it('accepts a 63-character RDS identifier', () => {
    const id = `a${'b'.repeat(62)}`;
    expect(parseExecutionInput({ action: 'restore', restore: { to: 'latest', targetIdentifier: id } }).restore?.targetIdentifier).toBe(id);
  });
});

describe('parseExecutionInput: rejections name the field', () => {
  it.each([
    [null, 'execution input: must be a JSON object'],
    ['{"action":"deploy"}', 'execution input: must be a JSON object'],
    [[{ action: 'deploy' }], 'execution input: must be a JSON object'],
    [{}, 'action: required, must be one of "deploy"'],
    [{ action: 'migrate' }, 'action: must be one of "deploy", "status", "plan", "resolve", "blockers", "backfill", "restore", "rollback"'],
    [{ action: 'deploy', snapshot: 'sometimes' }, 'snapshot: must be one of "auto", "always", "never"'],
    [{ action: 'deploy', approve: 'x' }, 'approve: must be an array of migration folder names'],
    [{ action: 'deploy', approve: [1] }, 'approve[0]: must be a migration folder name'],
    [{ action: 'deploy', dryRun: 'true' }, 'dryRun: must be a boolean'],
    [{ action: 'deploy', lockTimeoutMs: '3000' }, 'lockTimeoutMs: must be an integer between 100 and 60000'],
    [{ action: 'deploy', lockTimeoutMs: 99 }, 'lockTimeoutMs: must be an integer between 100 and 60000'],
    [{ action: 'deploy', lockTimeoutMs: 60001 }, 'lockTimeoutMs: must be an integer between 100 and 60000'],
    [{ action: 'deploy', lockTimeoutMs: 3000.5 }, 'lockTimeoutMs: must be an integer between 100 and 60000'],
    [{ action: 'deploy', maxLockRetries: -1 }, 'maxLockRetries: must be an integer between 0 and 20'],
    [{ action: 'deploy', maxLockRetries: 21 }, 'maxLockRetries: must be an integer between 0 and 20'],
    [{ action: 'deploy', monitorMinutes: 181 }, 'monitorMinutes: must be an integer between 0 and 180'],
    [{ action: 'deploy', monitorMinutes: null }, 'monitorMinutes: must be an integer between 0 and 180'],
    [{ action: 'resolve', resolve: 'x' }, 'resolve: must be an object'],
    [{ action: 'resolve', resolve: { migration: 'x', as: 'fixed' } }, 'resolve.as: must be one of "applied", "rolled-back"'],
    [{ action: 'resolve', resolve: { as: 'applied' } }, 'resolve.migration: required, must be a migration folder name'],
    [{ action: 'backfill', backfill: { name: 'users_status', command: 'stop' } }, 'backfill.command: must be one of "run", "pause", "resume", "cancel"'],
    [{ action: 'backfill', backfill: { name: '../users_status', command: 'run' } }, 'backfill.name: must be a migration folder name'],
    [{ action: 'blockers', blockers: { terminate: Array.from({ length: 101 }, (_, i) => i + 1) } }, 'blockers.terminate: must be an array of at most 100 backend pids'],
    [{ action: 'blockers', blockers: { terminate: [0] } }, 'blockers.terminate[0]: must be a PostgreSQL backend pid'],
    [{ action: 'blockers', blockers: { terminate: ['123'] } }, 'blockers.terminate[0]: must be a PostgreSQL backend pid'],
    [{ action: 'restore', restore: { to: 'yesterday' } }, 'restore.to: must be "pre-migration", "latest" or an ISO 8601 timestamp'],
    [{ action: 'restore', restore: { to: '2024-01-25T10:30:00' } }, 'restore.to: must be "pre-migration", "latest" or an ISO 8601 timestamp'],
    [{ action: 'restore', restore: { to: '2024-02-30T10:30:00Z' } }, 'restore.to: must be "pre-migration", "latest" or an ISO 8601 timestamp'],
  ])('rejects %j with "%s"', (raw, expected) => {
    expect(rejection(raw)).toContain(expected);
  });

  it.each(['', '..', '.', '../20240125103000_x', 'a/b', 'a\\b', 'x..y', 'tab\there', 'x'.repeat(256)])('rejects migration name %j', (name) => {
    expect(rejection({ action: 'rollback', rollback: { migration: name } })).toMatch(/^rollback\.migration: must be a migration folder name/);
  });

  it.each(['1app', 'app--prod', 'app-', 'app_prod', 'app.prod', `a${'b'.repeat(63)}`, ''])('rejects RDS identifier %j', (id) => {
    expect(rejection({ action: 'restore', restore: { to: 'latest', targetIdentifier: id } })).toMatch(/^restore\.targetIdentifier: must be an RDS identifier/);
  });

  it('names an unknown top-level field', () => {
    expect(rejection({ action: 'deploy', aprove: ['x'] })).toBe('unknown field "aprove"');
  });

  it('names an unknown nested field with its path', () => {
    expect(rejection({ action: 'restore', restore: { to: 'latest', target: 'x' } })).toBe('unknown field "restore.target"');
  });

  it('reports every problem at once', () => {
    const message = rejection({ action: 'deploy', dryRun: 1, lockTimeoutMs: 5, foo: true });
    expect(message).toContain('unknown field "foo"');
    expect(message).toContain('dryRun: must be a boolean');
    expect(message).toContain('lockTimeoutMs: must be an integer between 100 and 60000');
  });

  it('lists the offending paths in details', () => {
    let caught: InputValidationError | undefined;
    try {
      parseExecutionInput({ action: 'deploy', approve: ['ok', '../x'] });
    } catch (error) {
      caught = error as InputValidationError;
    }
    expect(caught?.details).toEqual({ fields: ['approve[1]'] });
  });
});

describe('parseExecutionInput: cross-field rules', () => {
  it.each(['resolve', 'restore', 'backfill', 'rollback'])('requires the %s block with action %s', (action) => {
    expect(rejection({ action })).toBe(`${action}: required when action is "${action}"`);
  });

  it.each([
    [{ action: 'deploy', resolve: { migration: 'x', as: 'applied' } }, 'resolve: only allowed when action is "resolve" (action is "deploy")'],
    [{ action: 'status', restore: { to: 'latest' } }, 'restore: only allowed when action is "restore" (action is "status")'],
    [{ action: 'deploy', backfill: { name: 'b', command: 'run' } }, 'backfill: only allowed when action is "backfill" (action is "deploy")'],
    [{ action: 'deploy', blockers: { terminate: [1] } }, 'blockers: only allowed when action is "blockers" (action is "deploy")'],
    [{ action: 'resolve', resolve: { migration: 'x', as: 'applied' }, rollback: { migration: 'x' } }, 'rollback: only allowed when action is "rollback" (action is "resolve")'],
  ])('refuses %j', (raw, expected) => {
    expect(rejection(raw)).toBe(expected);
  });

  it('lets blockers run without a blockers block (it only lists them)', () => {
    expect(parseExecutionInput({ action: 'blockers' }).blockers).toBeUndefined();
  });
});

describe('executionInputJsonSchema', () => {
  it('describes what a caller may send: only action required, defaults documented, no extra fields', () => {
    const schema = executionInputJsonSchema();
    const properties = schema.properties as Record<string, { default?: unknown }>;

    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['action']);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(properties).sort()).toEqual(
      ['action', 'approve', 'backfill', 'blockers', 'dryRun', 'lockTimeoutMs', 'maxLockRetries', 'monitorMinutes', 'resolve', 'restore', 'rollback', 'snapshot'].sort(),
    );
    for (const [field, value] of Object.entries(EXECUTION_INPUT_DEFAULTS)) {
      expect([field, properties[field]?.default]).toEqual([field, value]);
    }
  });

  it('carries the cross-field rules as if/then clauses', () => {
    const schema = executionInputJsonSchema();
    expect(schema.allOf).toContainEqual({
      if: { properties: { action: { const: 'resolve' } }, required: ['action'] },
      then: { required: ['resolve'] },
    });
    expect(schema.allOf).toContainEqual({
      if: { not: { properties: { action: { const: 'blockers' } }, required: ['action'] } },
      then: { not: { required: ['blockers'] } },
    });
  });
});
