/**
 * The construct agrees with the settings table (lambdas/core/settings/table.ts): each setting with a
 * construct prop defaults to the table's default, refuses what the table refuses naming the prop,
 * and reaches the functions' environment and the ASL placeholders the table names.
 */
import { Duration } from 'aws-cdk-lib';
import { resolveRunnerSettings, type MigrationRunnerProps, type RunnerSettings } from '../../lib/migration-runner';
import { allSettings, defaultOf, type Setting } from '../../lambdas/core/settings';
import { buildRunner } from './helpers';

const IDENTIFIER = 'app-prod';
const REQUIRED = { database: { kind: 'instance', identifier: IDENTIFIER }, securityGroups: [{}] } as unknown as MigrationRunnerProps;
const withProps = allSettings().filter(([, s]) => s.prop !== undefined) as [keyof RunnerSettings, Setting][];
const integers = withProps.filter(([, s]) => s.kind === 'integer') as [keyof RunnerSettings, Extract<Setting, { kind: 'integer' }>][];

/** The prop value that carries `value` (Durations for the duration props). */
function propValue(setting: Setting, value: unknown): unknown {
  return setting.prop?.duration ? Duration.millis(value as number) : value;
}

const built = buildRunner();
const fn = Object.values(built.template.findResources('AWS::Lambda::Function', { Properties: { Description: 'migration-runner apply' } }))[0];
const environment = fn.Properties.Environment.Variables as Record<string, string>;
const machine = Object.values(built.template.findResources('AWS::StepFunctions::StateMachine'))[0];
const substitutions = machine.Properties.DefinitionSubstitutions as Record<string, string>;

describe('construct props from the settings table', () => {
  it('resolves exactly the settings with a construct prop', () => {
    expect(Object.keys(resolveRunnerSettings(REQUIRED)).sort()).toEqual(withProps.map(([name]) => name).sort());
  });

  it.each(withProps.filter(([, s]) => s.default !== undefined))('%s: defaults to the table\'s default', (name, setting) => {
    expect(resolveRunnerSettings(REQUIRED)[name]).toEqual(defaultOf(setting, { databaseIdentifier: IDENTIFIER }));
  });

  it.each(integers)('%s: accepts its bounds and refuses beyond them, naming the prop', (_name, setting) => {
    const prop = setting.prop!.name;
    for (const value of [setting.min, setting.max]) expect(() => resolveRunnerSettings({ ...REQUIRED, [prop]: propValue(setting, value) })).not.toThrow();
    // A negative Duration cannot even be made (CDK refuses it), so only its upper bound is tried.
    for (const value of [setting.min - 1, setting.max + 1].filter((v) => v >= 0 || !setting.prop!.duration)) {
      expect(() => resolveRunnerSettings({ ...REQUIRED, [prop]: propValue(setting, value) })).toThrow(new RegExp(`^MigrationRunner: ${prop} must be`));
    }
  });

  it.each(withProps.filter(([, s]) => s.kind === 'enum'))('%s: refuses a value outside its list, naming the prop', (_name, setting) => {
    expect(() => resolveRunnerSettings({ ...REQUIRED, [setting.prop!.name]: 'bogus' })).toThrow(`MigrationRunner: ${setting.prop!.name} "bogus" must be one of`);
  });

  it.each(withProps.filter(([, s]) => s.env !== undefined && s.default !== undefined))('%s: its default reaches the functions\' environment', (_name, setting) => {
    expect(environment[setting.env!]).toBe((setting.format as (v: unknown) => string)(defaultOf(setting, { databaseIdentifier: IDENTIFIER })));
  });

  it.each(withProps.filter(([, s]) => s.asl !== undefined))('%s: its default reaches the ASL placeholder', (_name, setting) => {
    expect(substitutions[setting.asl!]).toBe((setting.format as (v: unknown) => string)(defaultOf(setting, { databaseIdentifier: IDENTIFIER })));
  });

  it('sets no environment variable the settings table does not declare (besides the wiring and Powertools)', () => {
    const declared = new Set(allSettings().map(([, s]) => s.env));
    const others = Object.keys(environment).filter((key) => !declared.has(key) && !key.startsWith('POWERTOOLS_'));
    expect(others.sort()).toEqual(['MR_STEP', 'NODE_OPTIONS']);
  });
});

describe('issue 18 drift: statementTimeout', () => {
  it('is refused over 24 h at synth, as the functions refuse it on every invocation', () => {
    expect(() => resolveRunnerSettings({ ...REQUIRED, statementTimeout: Duration.hours(24) })).not.toThrow();
    expect(() => resolveRunnerSettings({ ...REQUIRED, statementTimeout: Duration.hours(25) })).toThrow(
      'MigrationRunner: statementTimeout must be a Duration between 0 ms and 86400000 ms, got 90000000 ms',
    );
  });
});
