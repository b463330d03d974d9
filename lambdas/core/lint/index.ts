/** Migration safety linter: see docs/lint.md for the rules and the JSON report schema. */
export { lint, lintMigrations, loadLinter, resolveTarget, DEFAULT_PG_VERSION } from './lint';
export { formatJson, formatText } from './format';
export { RULES } from './rules';
export type { Finding, LintOptions, LintReport, MigrationInput, MigrationReport, Severity, TableFacts, Verdict } from './types';
