/**
 * Writes docs/execution-input.schema.json from the same zod schema the state machine's input is
 * validated with (`npm run gen:schema`). A unit test fails when the committed file is stale, so the
 * console users' schema cannot drift from the code.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { executionInputJsonSchema } from '../lambdas/core/execution-input';

export const SCHEMA_PATH = join(__dirname, '..', 'docs', 'execution-input.schema.json');

/** The exact text of the committed schema file. */
export function renderExecutionInputSchema(): string {
  return `${JSON.stringify(executionInputJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(SCHEMA_PATH, renderExecutionInputSchema());
  process.stdout.write(`wrote ${SCHEMA_PATH}\n`);
}
