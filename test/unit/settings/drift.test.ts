/**
 * Every surface agrees with the settings table (lambdas/core/settings/table.ts): the execution
 * input and its JSON Schema, the apply event, the functions' environment parsing, the CLI flags and
 * --help, cdk.json, the state machine's defaults and input checks, and the README's table. Then the
 * four drifts the table was introduced to end, each pinned by name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../../bin/cli';
import { lintCommand } from '../../../bin/commands/lint';
import { environmentConfigSchema } from '../../../lib/config';
import { connectionSettingsFromEnv } from '../../../lambdas/adapters/connection';
import { applyEventSchema, parseEvent } from '../../../lambdas/core/contracts';
import { executionInputJsonSchema, parseExecutionInput } from '../../../lambdas/core/execution-input';
import { allSettings, defaultOf, renderSettingsTable, SETTINGS, type Setting } from '../../../lambdas/core/settings';
import { handlerConfig } from '../../../lambdas/handlers/shared/config';
import { readmeWithSettings, README_PATH } from '../../../scripts/gen-schema';
import { DEFINITION_SUBSTITUTION_KEYS, readDefinitionText } from '../../../state-machines/definition';

type IntegerSetting = Extract<Setting, { kind: 'integer' }>;
const settings = allSettings();
const where = (place: 'env' | 'input' | 'flag' | 'context' | 'asl') => settings.filter(([, s]) => s[place] !== undefined);
const integerAt = (place: 'env' | 'input' | 'flag' | 'context') =>
  where(place).filter(([, s]) => s.kind === 'integer') as [string, IntegerSetting][];
const beyond = (s: IntegerSetting) => [s.min - 1, s.max + 1];

/** Fields of the execution input that are requests, not settings. */
const REQUEST_FIELDS = ['action', 'approve', 'resolve', 'restore', 'backfill', 'blockers', 'rollback'];

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, isTty: false });
  return { code, stdout, stderr };
}

describe('execution input', () => {
  const jsonSchema = executionInputJsonSchema() as { properties: Record<string, { default?: unknown; minimum?: number; maximum?: number; enum?: unknown[] }> };

  it('has no field but the settings with an input column and the requests', () => {
    expect(Object.keys(jsonSchema.properties).sort()).toEqual([...where('input').map(([, s]) => s.input!), ...REQUEST_FIELDS].sort());
  });

  it.each(where('input'))('%s: the parser and the JSON Schema apply its default', (_name, setting) => {
    expect((parseExecutionInput({ action: 'deploy' }) as Record<string, unknown>)[setting.input!]).toEqual(setting.default);
    expect(jsonSchema.properties[setting.input!].default).toEqual(setting.default);
  });

  it.each(integerAt('input'))('%s: the parser and the JSON Schema apply its bounds', (_name, setting) => {
    const field = setting.input!;
    expect(jsonSchema.properties[field]).toMatchObject({ minimum: setting.min, maximum: setting.max });
    expect(() => parseExecutionInput({ action: 'deploy', [field]: setting.max })).not.toThrow();
    for (const value of beyond(setting)) {
      expect(() => parseExecutionInput({ action: 'deploy', [field]: value })).toThrow(`${field}: must be an integer between ${setting.min} and ${setting.max}`);
    }
  });

  it('the apply event takes the same bounds for the per-execution overrides it carries', () => {
    for (const setting of [SETTINGS.lockTimeoutMs, SETTINGS.maxLockRetries] as const) {
      expect(() => parseEvent(applyEventSchema, { command: 'deploy', [setting.input!]: setting.max }, 'apply')).not.toThrow();
      expect(() => parseEvent(applyEventSchema, { command: 'deploy', [setting.input!]: setting.max + 1 }, 'apply')).toThrow(`${setting.input}: must be an integer between ${setting.min} and ${setting.max}`);
    }
  });
});

describe("the functions' environment", () => {
  /** Both readers of the environment: the handlers' settings and the connection settings. */
  const readAll = (env: NodeJS.ProcessEnv) => {
    handlerConfig(env);
    connectionSettingsFromEnv({ DATABASE_URL: 'postgresql://127.0.0.1/app', ...env });
  };

  it.each(integerAt('env'))('%s: read with its bounds, the error naming the variable', (_name, setting) => {
    expect(() => readAll({ [setting.env!]: String(setting.max) })).not.toThrow();
    for (const value of beyond(setting)) expect(() => readAll({ [setting.env!]: String(value) })).toThrow(`${setting.env} must be an integer between ${setting.min} and ${setting.max}`);
  });

  it.each(where('env').filter(([, s]) => s.kind === 'enum'))('%s: read with its values, the error naming the variable', (_name, setting) => {
    expect(() => readAll({ [setting.env!]: 'bogus' })).toThrow(`${setting.env} must be one of`);
  });

  it.each(integerAt('env').filter(([, s]) => s.default !== undefined && s.env?.startsWith('DB_') === false))('%s: handlerConfig applies its default', (name, setting) => {
    expect((handlerConfig({}) as unknown as Record<string, unknown>)[name]).toBe(setting.default);
  });

  it('connection settings apply their defaults', () => {
    expect(connectionSettingsFromEnv({ DATABASE_URL: 'postgresql://127.0.0.1/app' }).connectTimeoutMs).toBe(SETTINGS.connectTimeoutMs.default);
  });
});

describe('CLI flags', () => {
  const helps = async () => (await Promise.all(['deploy', 'status', 'resolve', 'backfill', 'start'].map((c) => cli([c, '--help'])))).map((r) => r.stdout).join('\n');

  it.each(where('flag'))('%s: its flag is offered with its doc in some --help', async (_name, setting) => {
    const text = (await helps()).replace(/\s+/g, ' ');
    expect(text).toContain(`--${setting.flag!.name}${setting.flag!.value ? ` ${setting.flag!.value}` : ''} ${setting.doc}`);
  });

  it.each(integerAt('flag'))('%s: deploy --help shows its bounds and default', async (_name, setting) => {
    const text = (await cli(['deploy', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(text).toContain(`${setting.doc} (${setting.min}..${setting.max}); default ${setting.default}`);
  });

  it.each(integerAt('flag'))(
    '%s: deploy refuses a value beyond its bounds before touching anything (exit 2)',
    async (_name, setting) => {
      for (const value of beyond(setting)) {
        const run = await cli(['deploy', `--${setting.flag!.name}=${value}`, '--database-url', 'postgresql://127.0.0.1:1/none']);
        expect(run).toEqual({ code: 2, stdout: '', stderr: `error: --${setting.flag!.name} must be an integer between ${setting.min} and ${setting.max}, got "${value}"\n` });
      }
    },
  );

  it('lint has no flag of its own for a setting (its --pg-version takes 14.2 and is a lint option)', () => {
    expect(lintCommand.help).not.toMatch(/--lock-timeout|--migrations DIR/);
  });
});

describe('cdk.json (lib/config.ts)', () => {
  const shape = environmentConfigSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
  /** Fields that describe the target, not settings. */
  const WIRING = ['account', 'region', 'vpc', 'databaseSecurityGroupId', 'database', 'migrationsDirectory', 'notificationEmails'];

  it('has no field but the wiring and the settings with a cdk.json column', () => {
    expect(Object.keys(shape).sort()).toEqual([...WIRING, ...where('context').map(([, s]) => s.context!)].sort());
  });

  it.each(integerAt('context'))('%s: the same bounds', (_name, setting) => {
    const field = shape[setting.context!];
    expect([setting.min, setting.max].map((v) => field.safeParse(v).success)).toEqual([true, true]);
    expect(beyond(setting).map((v) => field.safeParse(v).success)).toEqual([false, false]);
  });

  it.each(where('context').filter(([, s]) => s.kind === 'enum'))('%s: the same values', (_name, setting) => {
    const field = shape[setting.context!];
    expect((setting as Extract<Setting, { kind: 'enum' }>).values.every((v) => field.safeParse(v).success)).toBe(true);
    expect(field.safeParse('bogus').success).toBe(false);
  });
});

describe('the state machine definition', () => {
  const definition = JSON.parse(readDefinitionText()) as { States: Record<string, { Parameters?: { defaults?: Record<string, unknown> }; Choices?: unknown[]; Cause?: string }> };
  const defaults = definition.States.InitializeExecution.Parameters!.defaults!;
  const checks = JSON.stringify(definition.States.ValidateInput.Choices);

  it('takes the input defaults from the table (or the environment\'s placeholder), and no other', () => {
    expect(Object.keys(defaults).map((key) => key.replace(/\.\$$/, '')).sort()).toEqual([...where('input').map(([, s]) => s.input!), 'approve'].sort());
    for (const [, setting] of where('input')) {
      const expected = setting.asl ? { [`${setting.input}.$`]: `States.StringToJson('\${${setting.asl}}')` } : { [setting.input!]: setting.default };
      expect(defaults).toMatchObject(expected);
    }
  });

  it('names only placeholders the construct substitutes, from the table or its own wiring', () => {
    for (const [, setting] of where('asl')) expect(DEFINITION_SUBSTITUTION_KEYS).toContain(setting.asl);
  });

  it.each(integerAt('input'))('%s: ValidateInput refuses exactly outside the bounds, and RejectInput says them', (_name, setting) => {
    const field = `"Variable":"$.raw.${setting.input}"`;
    expect(checks).toContain(`${field},"NumericLessThan":${setting.min}`);
    expect(checks).toContain(`${field},"NumericGreaterThan":${setting.max}`);
    expect(definition.States.RejectInput.Cause).toContain(`${setting.input} ${setting.min}-${setting.max}`);
  });

  it.each(where('input').filter(([, s]) => s.kind === 'enum'))('%s: ValidateInput accepts exactly its values', (_name, setting) => {
    const values = [...checks.matchAll(new RegExp(`"Variable":"\\$\\.raw\\.${setting.input}","StringEquals":"([^"]+)"`, 'g'))].map((m) => m[1]);
    expect(values.sort()).toEqual([...(setting as Extract<Setting, { kind: 'enum' }>).values].sort());
  });
});

describe('README.md', () => {
  it('shows the settings table exactly as `npm run gen:schema` renders it', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(readme).toBe(readmeWithSettings(readme));
    expect(readme).toContain(renderSettingsTable());
  });
});

describe('the four drifts the table ended (issue 18)', () => {
  it('maxLockRetries is 0..20 in the input, the apply event, the environment, the CLI and the ASL', async () => {
    expect(() => parseExecutionInput({ action: 'deploy', maxLockRetries: 21 })).toThrow('between 0 and 20');
    expect(() => parseEvent(applyEventSchema, { command: 'deploy', maxLockRetries: 21 }, 'apply')).toThrow('between 0 and 20');
    expect(() => handlerConfig({ MAX_LOCK_RETRIES: '21' })).toThrow('MAX_LOCK_RETRIES must be an integer between 0 and 20');
    expect((await cli(['deploy', '--max-lock-retries', '21'])).stderr).toBe('error: --max-lock-retries must be an integer between 0 and 20, got "21"\n');
    expect(JSON.stringify(definition().States.ValidateInput.Choices)).toContain('"Variable":"$.raw.maxLockRetries","NumericGreaterThan":20');
  });

  it('CLI --lock-timeout has the bounds 100..60000 of everywhere else', async () => {
    expect((await cli(['deploy', '--lock-timeout', '99'])).code).toBe(2);
    expect((await cli(['deploy', '--lock-timeout', '60001'])).stderr).toBe('error: --lock-timeout must be an integer between 100 and 60000, got "60001"\n');
  });

  it('statementTimeout over 24 h is refused in cdk.json as the handler refuses it (the construct: test/synth/settings.test.ts)', () => {
    const day = 24 * 3600 * 1000;
    expect(environmentConfigSchema.shape.statementTimeoutMs.safeParse(day).success).toBe(true);
    expect(environmentConfigSchema.shape.statementTimeoutMs.safeParse(day + 1).success).toBe(false);
    expect(() => handlerConfig({ STATEMENT_TIMEOUT_MS: String(day + 1) })).toThrow('STATEMENT_TIMEOUT_MS must be an integer between 0 and 86400000');
  });

  it('the snapshot prefix the handler falls back to is the construct\'s default, <identifier>-mr', () => {
    expect(handlerConfig({ DB_INSTANCE_IDENTIFIER: 'app-prod' }).snapshotPrefix).toBe('app-prod-mr');
    expect(handlerConfig({ DB_CLUSTER_IDENTIFIER: 'app-aurora' }).snapshotPrefix).toBe('app-aurora-mr');
    expect(defaultOf(SETTINGS.snapshotPrefix, { databaseIdentifier: 'app-prod' })).toBe('app-prod-mr');
  });
});

function definition() {
  return JSON.parse(readFileSync(join(__dirname, '../../../state-machines/migration.asl.json'), 'utf8')) as { States: Record<string, { Choices?: unknown[] }> };
}
