import { InputValidationError } from '../../../lambdas/core/errors';
import {
  applyEventSchema,
  backfillEventSchema,
  parseEvent,
  preflightEventSchema,
  verifyHandlerEventSchema,
} from '../../../lambdas/core/contracts';

describe('handler event contracts', () => {
  it.each([
    ['apply deploy', applyEventSchema, { command: 'deploy', lockTimeoutMs: 3000, maxLockRetries: 2, executionName: 'run-1' }],
    ['apply resolve', applyEventSchema, { command: 'resolve', migration: '20240101_a', as: 'rolled-back' }],
    ['apply rollback', applyEventSchema, { command: 'rollback', migration: '20240101_a' }],
    ['apply blockers', applyEventSchema, { command: 'blockers', terminate: [123] }],
    ['backfill', backfillEventSchema, { name: '20240101_a', command: 'run' }],
    ['verify', verifyHandlerEventSchema, { mode: 'verify', since: '2026-01-01T00:00:00.000Z' }],
    ['alarms', verifyHandlerEventSchema, { mode: 'alarms', alarmNames: ['api-5xx'] }],
    ['preflight', preflightEventSchema, { input: { action: 'deploy' }, executionName: 'x' }],
    ['preflight validate', preflightEventSchema, { mode: 'validate', input: { action: 'blockers' }, executionName: 'x' }],
  ])('accepts a valid %s event', (_what, schema, event) => {
    // Act
    const parsed = parseEvent(schema, event, 'test');
    // Assess
    expect(parsed).toEqual(event);
  });

  it.each([
    ['unknown field', applyEventSchema, { command: 'deploy', lockTimeOutMs: 3000 }, /lockTimeOutMs/],
    ['wrong type', applyEventSchema, { command: 'deploy', lockTimeoutMs: '3000' }, /^.*lockTimeoutMs: /],
    ['bad value', applyEventSchema, { command: 'blockers', terminate: [12, -1] }, /terminate\[1\]/],
    ['unknown command', applyEventSchema, { command: 'drop' }, /command/],
    ['bad resolve target', applyEventSchema, { command: 'resolve', migration: 'a', as: 'done' }, /as: /],
    ['bad backfill command', backfillEventSchema, { name: 'a', command: 'go' }, /command: /],
    ['bad since', verifyHandlerEventSchema, { mode: 'verify', since: 'yesterday' }, /since: /],
    ['missing input', preflightEventSchema, { executionName: 'x' }, /input: /],
    ['unknown preflight mode', preflightEventSchema, { mode: 'check', input: { action: 'blockers' } }, /mode: /],
  ])('rejects %s, naming the field', (_what, schema, event, pattern) => {
    // Act
    const attempt = () => parseEvent(schema, event, 'test');
    // Assess
    expect(attempt).toThrow(InputValidationError);
    expect(attempt).toThrow(pattern);
  });
});
