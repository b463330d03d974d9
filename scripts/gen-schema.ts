/**
 * Writes what is generated from the code's single sources (`npm run gen:schema`):
 * - docs/execution-input.schema.json from the zod schema the state machine's input is validated with;
 * - the README's settings table from the settings table (lambdas/core/settings/table.ts).
 * Unit tests fail when a committed copy is stale, so neither can drift from the code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { executionInputJsonSchema } from '../lambdas/core/execution-input';
import { renderSettingsTable } from '../lambdas/core/settings';

export const SCHEMA_PATH = join(__dirname, '..', 'docs', 'execution-input.schema.json');
export const README_PATH = join(__dirname, '..', 'README.md');

/** The exact text of the committed schema file. */
export function renderExecutionInputSchema(): string {
  return `${JSON.stringify(executionInputJsonSchema(), null, 2)}\n`;
}

const SETTINGS_SECTION = /(<!-- settings:start[^\n]*-->\n)[\s\S]*?(<!-- settings:end -->)/;

/** The README with its settings section replaced by the rendered table. */
export function readmeWithSettings(readme: string): string {
  if (!SETTINGS_SECTION.test(readme)) throw new Error('README.md has no <!-- settings:start --> ... <!-- settings:end --> section');
  return readme.replace(SETTINGS_SECTION, (_m, start: string, end: string) => `${start}${renderSettingsTable()}\n${end}`);
}

if (require.main === module) {
  writeFileSync(SCHEMA_PATH, renderExecutionInputSchema());
  process.stdout.write(`wrote ${SCHEMA_PATH}\n`);
  writeFileSync(README_PATH, readmeWithSettings(readFileSync(README_PATH, 'utf8')));
  process.stdout.write(`wrote the settings table in ${README_PATH}\n`);
}
