/**
 * The settings table itself (lambdas/core/settings/table.ts): every entry is coherent, and reading
 * a setting from the environment or a flag applies its default and its bounds, naming the place.
 */
import { allSettings, defaultOf, flagHelp, readEnv, readFlag, SETTINGS, type Setting } from '../../../lambdas/core/settings';

const settings = allSettings();
const integers = settings.filter(([, s]) => s.kind === 'integer') as [string, Extract<Setting, { kind: 'integer' }>][];

describe('the settings table', () => {
  it.each(['env', 'input', 'context', 'asl'] as const)('names each %s at most once', (place) => {
    const names = settings.map(([, s]) => s[place]).filter((n): n is string => n !== undefined);
    expect(new Set(names).size).toBe(names.length);
  });

  it('names each CLI flag and construct prop at most once', () => {
    for (const place of ['flag', 'prop'] as const) {
      const names = settings.map(([, s]) => s[place]?.name).filter((n): n is string => n !== undefined);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it.each(settings.filter(([, s]) => s.default !== undefined))('%s: its default obeys its own rule', (_name, setting) => {
    expect(setting.problem(defaultOf(setting, { databaseIdentifier: 'app-production' }))).toBeUndefined();
  });

  it.each(settings)('%s: says where it can be given, and what it means', (_name, setting) => {
    expect([setting.env, setting.input, setting.flag, setting.prop, setting.context, setting.asl].some(Boolean)).toBe(true);
    expect(setting.doc.length).toBeGreaterThan(10);
  });

  it.each(integers.map(([name, setting]) => [name, setting]))('%s: min and max accepted, one beyond refused', (_name, setting) => {
    expect([setting.problem(setting.min), setting.problem(setting.max)]).toEqual([undefined, undefined]);
    expect(setting.problem(setting.min - 1)).toBe(`must be an integer between ${setting.min} and ${setting.max}`);
    expect(setting.problem(setting.max + 1)).toBe(`must be an integer between ${setting.min} and ${setting.max}`);
    expect(setting.problem(setting.min + 0.5)).toBeDefined();
  });
});

describe('readEnv', () => {
  it('applies the default for an unset or blank variable, parses a set one', () => {
    expect(readEnv(SETTINGS.lockTimeoutMs, {})).toBe(3000);
    expect(readEnv(SETTINGS.lockTimeoutMs, { LOCK_TIMEOUT_MS: '  ' })).toBe(3000);
    expect(readEnv(SETTINGS.lockTimeoutMs, { LOCK_TIMEOUT_MS: '500' })).toBe(500);
    expect(readEnv(SETTINGS.alarmNames, { ALARM_NAMES: ' a, b ,' })).toEqual(['a', 'b']);
    expect(readEnv(SETTINGS.healthUrl, {})).toBeUndefined();
  });

  it.each([
    [SETTINGS.lockTimeoutMs, '60001', 'LOCK_TIMEOUT_MS must be an integer between 100 and 60000'],
    [SETTINGS.lockTimeoutMs, '3e3', 'LOCK_TIMEOUT_MS must be an integer between 100 and 60000'],
    [SETTINGS.snapshotPolicy, 'sometimes', 'SNAPSHOT_POLICY must be one of auto, always, never'],
    [SETTINGS.snapshotPrefix, '1-bad--', 'SNAPSHOT_PREFIX must start with a letter'],
  ] as [Setting, string, string][])('refuses a bad value naming the variable, not echoing it (%#)', (setting, raw, message) => {
    expect(() => readEnv(setting, { [setting.env!]: raw })).toThrow(message);
    expect(() => readEnv(setting, { [setting.env!]: raw })).not.toThrow(raw);
  });
});

describe('readFlag and flagHelp', () => {
  it('applies the default, parses a value, names the flag and its bounds on a bad one', () => {
    expect(readFlag(SETTINGS.maxLockRetries, undefined)).toBe(5);
    expect(readFlag(SETTINGS.maxLockRetries, '7')).toBe(7);
    expect(() => readFlag(SETTINGS.maxLockRetries, '21')).toThrow('--max-lock-retries must be an integer between 0 and 20, got "21"');
  });

  it('shows the flag, its value word, bounds and default', () => {
    const help = flagHelp(['lockTimeoutMs']);
    expect(help.startsWith('  --lock-timeout MS ')).toBe(true);
    expect(help.replace(/\s+/g, ' ')).toContain('lock_timeout of every migration statement: live traffic waits at most this long behind DDL (100..60000); default 3000');
  });
});
