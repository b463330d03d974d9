/**
 * Reads `migration.asl.json` and substitutes its `${Placeholders}` the way CloudFormation's
 * DefinitionSubstitutions do (plain text replacement), for the local executor and the tests.
 * The CDK construct passes the same keys (DEFINITION_SUBSTITUTION_KEYS in lib/migration-runner.ts).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Keys substituted into the ASL; a test checks they equal the definition's placeholders. */
export const DEFINITION_SUBSTITUTION_KEYS = [
  'PreflightFunctionArn',
  'ApplyFunctionArn',
  'BackfillFunctionArn',
  'VerifyFunctionArn',
  'NotificationTopicArn',
  'DatabaseKind',
  'DatabaseIdentifier',
  'DatabaseEngine',
  'RestorePrefix',
  'RestoreInstanceClass',
  'OnFailure',
  'LockTimeoutMs',
  'MonitorMinutes',
  'MaxLoopIterations',
] as const;
export type DefinitionSubstitutionKey = (typeof DEFINITION_SUBSTITUTION_KEYS)[number];

export const DEFINITION_FILE = path.join(__dirname, 'migration.asl.json');

export function readDefinitionText(): string {
  return readFileSync(DEFINITION_FILE, 'utf8');
}

/** Every `${Name}` in the definition, sorted and unique. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))].sort();
}

/** Substitutes every placeholder; a missing or unused value is an error (both mean drift). */
export function substituteDefinition(text: string, values: Readonly<Record<string, string>>): Record<string, unknown> {
  const placeholders = placeholdersOf(text);
  const missing = placeholders.filter((name) => !(name in values));
  const unused = Object.keys(values).filter((name) => !placeholders.includes(name));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(`definition substitutions drift: missing ${JSON.stringify(missing)}, unused ${JSON.stringify(unused)}`);
  }
  // JSON-escape the value: it lands inside a JSON string literal.
  const substituted = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => JSON.stringify(values[name]).slice(1, -1));
  return JSON.parse(substituted) as Record<string, unknown>;
}
