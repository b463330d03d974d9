/**
 * The shape every CLI command has, and the small helpers they share. Commands are thin adapters:
 * they parse flags into validated options, call core through adapters, print, and return an exit
 * code. Results go to stdout, logs and errors to stderr.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputValidationError, MigrationRunnerError } from '../../lambdas/core/errors';
import { flagHelp, flagOptions, helpLine, readFlag, SETTINGS } from '../../lambdas/core/settings';

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** True when stdout is a terminal (progress bars are drawn only then). */
  readonly isTty: boolean;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Full --help text. */
  readonly help: string;
  run(argv: string[], io: Io): Promise<number>;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** parseArgs that turns its errors into InputValidationError with the flag named. */
export function parseFlags<T extends OptionSpec>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals });
  } catch (error) {
    throw new InputValidationError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** A non-negative integer flag, or the default. */
export function intFlag(value: unknown, flag: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InputValidationError(`--${flag} must be an integer >= ${min}, got "${String(value)}"`);
  return n;
}

/** Reads --database-url or DATABASE_URL; the value is never printed. */
export function databaseUrl(value: unknown, env: NodeJS.ProcessEnv): string {
  const url = (value as string | undefined) ?? env.DATABASE_URL;
  if (!url) throw new InputValidationError('no database: pass --database-url or set DATABASE_URL');
  return url;
}

/** Exit code for an error: 2 for bad input, 1 otherwise. Prints one line (plus details) to stderr. */
export function reportError(error: unknown, io: Io): number {
  if (error instanceof MigrationRunnerError) {
    io.stderr(`error: ${error.message}\n`);
    return error instanceof InputValidationError ? 2 : 1;
  }
  io.stderr(`error: ${(error as Error)?.message ?? String(error)}\n`);
  return 1;
}

/** Default migrations folder, as Prisma's. */
export const DEFAULT_MIGRATIONS_DIR = SETTINGS.migrationsDir.default;

/** A Logger that writes `level message {fields}` lines to stderr. */
export function stderrLogger(io: Io, verbose = false) {
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    io.stderr(`${level} ${message}${fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''}\n`);
  return { debug: verbose ? write('debug') : () => undefined, info: write('info'), warn: write('warn'), error: write('error') };
}

/** The flags every database command shares (settings: lambdas/core/settings). */
export const DATABASE_FLAGS = {
  ...flagOptions('databaseUrl', 'migrationsDir', 'connectTimeoutMs'),
  json: { type: 'boolean' },
} as const;

/** Connection options from the shared flags. */
export function connectOptions(values: { 'connect-timeout'?: string }, step: string) {
  return { applicationName: `migration-runner:${step}`, connectTimeoutMs: readFlag(SETTINGS.connectTimeoutMs, values['connect-timeout']) };
}

export const DATABASE_FLAGS_HELP = [
  flagHelp(['databaseUrl', 'migrationsDir', 'connectTimeoutMs'], { defaults: { databaseUrl: '$DATABASE_URL' } }),
  helpLine('--json', 'print the result as JSON on stdout'),
  helpLine('-h, --help', 'show this help'),
].join('\n');
