/**
 * The kinds of setting (integer with bounds, one of a list, text with a rule, list, boolean) and
 * everything each kind knows how to do with a value: parse it from an environment variable or a
 * CLI flag, check it (construct props), give its zod schema (execution input, cdk.json, events)
 * and format it back for an environment variable. Messages name the rule, never echo a secret.
 */
import { z } from 'zod';

/** Where a setting can be given; every field but `doc` is optional. */
export interface SettingPlaces {
  /** One line for the README table, --help and the JSON Schema. */
  readonly doc: string;
  /** Environment variable of the Lambda functions (set by the construct, read by handlerConfig). */
  readonly env?: string;
  /** Execution-input field: a per-execution override (console, CLI `start`, CodePipeline). */
  readonly input?: string;
  /** CLI flag (without `--`) and the word shown for its value in --help. */
  readonly flag?: { readonly name: string; readonly value?: string };
  /** MigrationRunner construct prop (lib/migration-runner.ts). `duration`: given as a cdk Duration. */
  readonly prop?: { readonly name: string; readonly duration?: boolean };
  /** Field of `environments.<name>` in cdk.json (lib/config.ts). */
  readonly context?: string;
  /** ASL `${Placeholder}` that carries the environment's value into the state machine. */
  readonly asl?: string;
}

/** A default computed from the database identifier (prefixes of snapshots and restores). */
export interface DerivedDefault<T> {
  /** How the README and --help show it, e.g. `<database identifier>-mr`. */
  readonly text: string;
  readonly from: (context: { readonly databaseIdentifier?: string }) => T;
}

interface KindCommon<T> extends SettingPlaces {
  /** undefined: unset unless given (optional settings such as healthUrl). */
  readonly default?: T | DerivedDefault<T>;
  /** For the README's type column: `integer 100..60000 (ms)`, `auto | always | never`. */
  describe(): string;
  /** Parses the text of an environment variable or a flag; throws a message without the name. */
  parseText(text: string): T;
  /** undefined when `value` is valid, else the rule it breaks ("must be ..."). */
  problem(value: unknown): string | undefined;
  /** zod schema of a value (its error messages name the rule). */
  schema(): z.ZodType<T>;
  /** The text an environment variable or substitution carries for `value`. */
  format(value: T): string;
}

export interface IntegerSetting extends KindCommon<number> {
  readonly kind: 'integer';
  readonly min: number;
  readonly max: number;
  readonly unit?: string;
}
export interface EnumSetting<T extends string = string> extends KindCommon<T> {
  readonly kind: 'enum';
  readonly values: readonly [T, ...T[]];
}
export interface TextSetting extends KindCommon<string> {
  readonly kind: 'text';
}
export interface ListSetting extends KindCommon<string[]> {
  readonly kind: 'list';
}
export interface BooleanSetting extends KindCommon<boolean> {
  readonly kind: 'boolean';
}
export type Setting = IntegerSetting | EnumSetting | TextSetting | ListSetting | BooleanSetting;
/** The type of a setting's value. */
export type ValueOf<S> = S extends KindCommon<infer T> ? T : never;

/** "required" when absent, the rule otherwise (zod messages; the path is prefixed by the caller). */
export function rule(message: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? `required, ${message}` : message);
}

class Problem extends Error {}
const fail = (message: string): never => {
  throw new Problem(message);
};
/** Runs a parser and turns its Problem into the message (for the callers that name the setting). */
export function problemOf(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (error) {
    if (error instanceof Problem) return error.message;
    throw error;
  }
}

/** What a kind's constructor keeps of its spec's type: whether a default was given. */
type Keeps<P> = (P extends { default: infer D } ? { readonly default: D } : unknown) & (P extends { flag: infer F } ? { readonly flag: F } : unknown);
const kept = <P, K>(setting: K) => setting as K & Keeps<P>;

export function integer<const P extends SettingPlaces & { default?: number; min: number; max: number; unit?: string }>(spec: P): IntegerSetting & Keeps<P> {
  const message = `must be an integer between ${spec.min} and ${spec.max}`;
  const problem = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value >= spec.min && value <= spec.max ? undefined : message);
  return kept<P, IntegerSetting>({
    ...spec,
    kind: 'integer',
    describe: () => `integer ${spec.min}..${spec.max}${spec.unit ? ` (${spec.unit})` : ''}`,
    parseText: (text) => {
      const value = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
      return problem(value) === undefined ? value : fail(message);
    },
    problem,
    schema: () => z.number({ error: rule(message) }).int({ error: message }).min(spec.min, { error: message }).max(spec.max, { error: message }),
    format: String,
  });
}

export function oneOf<const T extends string, const P extends SettingPlaces & { default?: T } = SettingPlaces>(values: readonly [T, ...T[]], spec: P): EnumSetting<T> & Keeps<P> {
  const plain = `must be one of ${values.join(', ')}`;
  const quoted = `must be one of ${values.map((v) => `"${v}"`).join(', ')}`;
  const problem = (value: unknown) => ((values as readonly unknown[]).includes(value) ? undefined : plain);
  return kept<P, EnumSetting<T>>({
    ...spec,
    kind: 'enum',
    values,
    describe: () => values.join(' | '),
    parseText: (text) => (problem(text.trim()) === undefined ? (text.trim() as T) : fail(plain)),
    problem,
    schema: () => z.enum(values as unknown as [T, ...T[]], { error: rule(quoted) }),
    format: (value) => value,
  });
}

export function text<const P extends SettingPlaces & { default?: string | DerivedDefault<string>; pattern?: RegExp; maxLength?: number; rule?: string }>(
  spec: P,
): TextSetting & Keeps<P> {
  const message = spec.rule ?? 'must not be empty';
  const problem = (value: unknown) =>
    typeof value === 'string' && value.length > 0 && (!spec.pattern || spec.pattern.test(value)) && value.length <= (spec.maxLength ?? Infinity) ? undefined : message;
  return kept<P, TextSetting>({
    ...spec,
    kind: 'text',
    describe: () => (spec.maxLength ? `text, at most ${spec.maxLength} characters` : 'text'),
    parseText: (raw) => (problem(raw.trim()) === undefined ? raw.trim() : fail(message)),
    problem,
    schema: () => z.string({ error: rule(message) }).refine((value) => problem(value) === undefined, { error: message }),
    format: (value) => value,
  });
}

/** A comma-separated list in the environment, an array everywhere else. */
export function list<const P extends SettingPlaces & { default?: string[] }>(spec: P): ListSetting & Keeps<P> {
  const message = 'must be a list of non-empty names';
  const problem = (value: unknown) => (Array.isArray(value) && value.every((v) => typeof v === 'string' && v.trim().length > 0) ? undefined : message);
  return kept<P, ListSetting>({
    ...spec,
    kind: 'list',
    describe: () => 'list (comma-separated in the environment)',
    parseText: (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean),
    problem,
    schema: () => z.array(z.string().min(1), { error: rule(message) }),
    format: (value) => value.join(','),
  });
}

export function boolean<const P extends SettingPlaces & { default?: boolean }>(spec: P): BooleanSetting & Keeps<P> {
  const message = 'must be a boolean';
  const problem = (value: unknown) => (typeof value === 'boolean' ? undefined : message);
  return kept<P, BooleanSetting>({
    ...spec,
    kind: 'boolean',
    describe: () => 'boolean',
    parseText: (raw) => (raw.trim() === 'true' ? true : raw.trim() === 'false' ? false : fail('must be true or false')),
    problem,
    schema: () => z.boolean({ error: rule(message) }),
    format: String,
  });
}

export function isDerived<T>(value: T | DerivedDefault<T> | undefined): value is DerivedDefault<T> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'from' in value;
}

/** The default of a setting for this database (derived ones need its identifier). */
export function defaultOf<S extends Setting>(setting: S, context: { readonly databaseIdentifier?: string } = {}): ValueOf<S> | undefined {
  const value = setting.default as ValueOf<S> | DerivedDefault<ValueOf<S>> | undefined;
  if (isDerived(value)) return value.from(context);
  return Array.isArray(value) ? ([...value] as ValueOf<S>) : value;
}

/** How the README and --help show a default. */
export function defaultText(setting: Setting): string {
  const value = setting.default;
  if (value === undefined) return '';
  if (isDerived(value)) return value.text;
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(', ');
  return String(value);
}
