/**
 * The settings table (table.ts) and what every surface derives from it: environment parsing for
 * the functions, CLI flags and their --help lines, the environment and ASL substitutions the
 * construct writes, and the README's settings table.
 */
import { InputValidationError } from '../errors';
import { defaultOf, defaultText, problemOf, type Setting, type ValueOf } from './kinds';
import { SETTINGS, type SettingName } from './table';

export { SETTINGS, defaultRestorePrefix, defaultSnapshotPrefix, type SettingName } from './table';
export { defaultOf, defaultText, rule, type DerivedDefault, type EnumSetting, type IntegerSetting, type Setting, type ValueOf } from './kinds';

/** Values of some settings, keyed by setting name. */
export type SettingValues = { -readonly [K in SettingName]?: ValueOf<(typeof SETTINGS)[K]> };

/** What reading a setting gives: its value type, or undefined too when it has no default. */
export type Read<S> = S extends { readonly default: object | string | number | boolean } ? ValueOf<S> : ValueOf<S> | undefined;

/** Every setting, in table order, with its name. */
export function allSettings(): [SettingName, Setting][] {
  return Object.entries(SETTINGS) as [SettingName, Setting][];
}

/** Every setting that has a default, at its default for this database (derived ones need its identifier). */
export function settingDefaults(context: { readonly databaseIdentifier?: string } = {}): SettingValues {
  const values: Record<string, unknown> = {};
  for (const [name, setting] of allSettings()) {
    const value = defaultOf(setting, context);
    if (value !== undefined) values[name] = value;
  }
  return values as SettingValues;
}

/** `values` without its undefined entries (so they do not hide defaults when spread over them). */
export function given(values: SettingValues): SettingValues {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as SettingValues;
}

// ---------------------------------------------------------------- environment

/**
 * Reads a setting from the functions' environment: its value, its (non-derived) default when the
 * variable is unset or blank, or undefined for a setting without one. A bad value throws
 * InputValidationError naming the variable (never its value: it may be a secret).
 */
export function readEnv<S extends Setting>(setting: S, env: NodeJS.ProcessEnv): Read<S>;
export function readEnv<S extends Setting>(setting: S, env: NodeJS.ProcessEnv, fallback: ValueOf<S>): ValueOf<S>;
export function readEnv<S extends Setting>(setting: S, env: NodeJS.ProcessEnv, fallback?: ValueOf<S>): ValueOf<S> | undefined {
  if (!setting.env) throw new Error(`setting has no environment variable: ${setting.doc}`);
  const raw = env[setting.env];
  if (raw === undefined || raw.trim() === '') return fallback ?? defaultOf(setting);
  let value: ValueOf<S> | undefined;
  const problem = problemOf(() => (value = setting.parseText(raw) as ValueOf<S>));
  if (problem) throw new InputValidationError(`${setting.env} ${problem}`);
  return value;
}

/** The environment variables that carry `values` (settings without an env var are skipped). */
export function environmentOf(values: SettingValues): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, setting] of allSettings()) {
    const value = values[name];
    if (setting.env && value !== undefined) env[setting.env] = (setting.format as (v: unknown) => string)(value);
  }
  return env;
}

/** The ASL `${Placeholder}` values that carry `values`; every placeholder of a setting must be given. */
export function substitutionsOf(values: SettingValues): Record<string, string> {
  const substitutions: Record<string, string> = {};
  for (const [name, setting] of allSettings()) {
    if (!setting.asl) continue;
    const value = values[name];
    if (value === undefined) throw new Error(`no value for the ASL placeholder ${setting.asl} (setting ${name})`);
    substitutions[setting.asl] = (setting.format as (v: unknown) => string)(value);
  }
  return substitutions;
}

// ---------------------------------------------------------------- CLI flags

type FlagOption = { type: 'string' } | { type: 'boolean' };

/** parseArgs options of these settings' flags. */
export function flagOptions<const N extends SettingName>(
  ...names: N[]
): { [K in N as NonNullable<(typeof SETTINGS)[K]['flag']>['name']]: (typeof SETTINGS)[K] extends { kind: 'boolean' } ? { type: 'boolean' } : { type: 'string' } } {
  const options: Record<string, FlagOption> = {};
  for (const name of names) {
    const setting: Setting = SETTINGS[name];
    if (!setting.flag) throw new Error(`setting ${name} has no CLI flag`);
    options[setting.flag.name] = setting.kind === 'boolean' ? { type: 'boolean' } : { type: 'string' };
  }
  return options as never;
}

/**
 * A setting from its flag's parsed value: the value, else `fallback`, else the default. A bad value
 * throws InputValidationError naming the flag and its rule.
 */
export function readFlag<S extends Setting>(setting: S, raw: string | boolean | undefined): Read<S>;
export function readFlag<S extends Setting>(setting: S, raw: string | boolean | undefined, fallback: ValueOf<S>): ValueOf<S>;
export function readFlag<S extends Setting>(setting: S, raw: string | boolean | undefined, fallback?: ValueOf<S>): ValueOf<S> | undefined {
  if (!setting.flag) throw new Error(`setting has no CLI flag: ${setting.doc}`);
  if (raw === undefined) return fallback ?? defaultOf(setting);
  if (typeof raw === 'boolean') return raw as ValueOf<S>;
  let value: ValueOf<S> | undefined;
  const problem = problemOf(() => (value = setting.parseText(raw) as ValueOf<S>));
  if (problem) throw new InputValidationError(`--${setting.flag.name} ${problem}, got "${raw}"`);
  return value;
}

/** Width of the flag column in --help. */
const HELP_COLUMN = 30;
const HELP_WIDTH = 100;

/** One --help entry: the flag column, then the text wrapped under itself. */
export function helpLine(left: string, text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && HELP_COLUMN + 1 + line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  const first = `  ${left}`.padEnd(HELP_COLUMN);
  return [`${first}${first.length > HELP_COLUMN ? '\n'.concat(' '.repeat(HELP_COLUMN)) : ''} ${lines[0]}`, ...lines.slice(1).map((l) => `${' '.repeat(HELP_COLUMN)} ${l}`)].join('\n');
}

/** --help lines of these settings' flags: name, value word, doc, bounds and default. */
export function flagHelp(names: readonly SettingName[], options: { readonly defaults?: Partial<Record<SettingName, string>> } = {}): string {
  return names
    .map((name) => {
      const setting: Setting = SETTINGS[name];
      if (!setting.flag) throw new Error(`setting ${name} has no CLI flag`);
      const left = `--${setting.flag.name}${setting.flag.value ? ` ${setting.flag.value}` : ''}`;
      const bounds = setting.kind === 'integer' ? ` (${setting.min}..${setting.max})` : setting.kind === 'enum' ? ` (${setting.values.join(' | ')})` : '';
      const fallback = options.defaults?.[name] ?? (setting.kind === 'boolean' ? '' : defaultText(setting));
      return helpLine(left, `${setting.doc}${bounds}${fallback ? `; default ${fallback}` : ''}`);
    })
    .join('\n');
}

// ---------------------------------------------------------------- README

const escapeCell = (text: string) => text.replace(/\|/g, '\\|');

/** The README's settings table (between its settings markers; `npm run gen:schema` writes it). */
export function renderSettingsTable(): string {
  const code = (value: string | undefined) => (value ? `\`${value}\`` : '');
  const lines = [
    '| setting | type | default | function env | execution input | CLI flag | construct prop | cdk.json | meaning |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, setting] of allSettings()) {
    const prop = setting.prop ? `${setting.prop.name}${setting.prop.duration ? ' (Duration)' : ''}` : undefined;
    const cells = [
      code(name),
      escapeCell(setting.describe()),
      code(escapeCell(defaultText(setting))),
      code(setting.env),
      code(setting.input),
      setting.flag ? code(`--${setting.flag.name}`) : '',
      code(prop),
      code(setting.context),
      escapeCell(setting.doc),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
