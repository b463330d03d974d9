/**
 * The execution input: what the console, the CLI and CodePipeline send to the state machine.
 *
 * One zod schema is the single source of truth: `parseExecutionInput` validates with it (before
 * anything touches the database or AWS), and `executionInputJsonSchema()` renders it for console
 * users and editors (docs/execution-input.schema.json is generated from it by `npm run gen:schema`).
 *
 * Fail closed: unknown fields, wrong types, and an action-specific block sent with another action
 * are rejected, because a typo in a production migration input must never silently fall back to a
 * default (for example `"aprove": [...]` or `"resolve"` sent with `"action": "deploy"`).
 */
import { z } from 'zod';
import { InputValidationError } from './errors';
import { rule, SETTINGS } from './settings';

export const EXECUTION_ACTIONS = ['deploy', 'status', 'plan', 'resolve', 'blockers', 'backfill', 'restore', 'rollback'] as const;
export type ExecutionAction = (typeof EXECUTION_ACTIONS)[number];

export const SNAPSHOT_MODES = SETTINGS.snapshot.values;
export const RESOLVE_AS = ['applied', 'rolled-back'] as const;
export const BACKFILL_COMMANDS = ['run', 'pause', 'resume', 'cancel'] as const;
export const RESTORE_POINTS = ['pre-migration', 'latest'] as const;

/** Documented defaults (from the settings table); tests check each one is what the parser applies. */
export const EXECUTION_INPUT_DEFAULTS = {
  snapshot: SETTINGS.snapshot.default,
  approve: [] as string[],
  dryRun: SETTINGS.dryRun.default,
  lockTimeoutMs: SETTINGS.lockTimeoutMs.default,
  maxLockRetries: SETTINGS.maxLockRetries.default,
  monitorMinutes: SETTINGS.monitorMinutes.default,
} as const;

/**
 * Action-specific blocks: the block named here is required with its action and refused with any
 * other. `blockers` is optional with its action (without `terminate` it only lists blockers).
 */
const ACTION_BLOCKS = {
  resolve: { action: 'resolve', required: true },
  restore: { action: 'restore', required: true },
  backfill: { action: 'backfill', required: true },
  rollback: { action: 'rollback', required: true },
  blockers: { action: 'blockers', required: false },
} as const satisfies Record<string, { action: ExecutionAction; required: boolean }>;

// ---------------------------------------------------------------- field builders (messages name the rule)

function enumOf<const T extends readonly [string, ...string[]]>(values: T) {
  const message = `must be one of ${values.map((v) => `"${v}"`).join(', ')}`;
  return z.enum(values, { error: rule(message) });
}

/**
 * A Prisma migration folder name. Prisma stores it in `_prisma_migrations.migration_name`
 * (VARCHAR(255)); it must name a folder directly under migrations/, never a path.
 */
const MIGRATION_NAME_RULE = 'must be a migration folder name (1-255 characters, no "/", "\\", ".." or control characters)';
const migrationName = z
  .string({ error: rule(MIGRATION_NAME_RULE) })
  .min(1, { error: MIGRATION_NAME_RULE })
  .max(255, { error: MIGRATION_NAME_RULE })
  // eslint-disable-next-line no-control-regex
  .regex(/^(?!\.{1,2}$)(?!.*\.\.)[^/\\\u0000-\u001f\u007f]+$/, { error: MIGRATION_NAME_RULE })
  .meta({ description: 'A Prisma migration folder name, e.g. 20240125103000_drop_legacy_column.' });

/** Same rule as the backfill Lambda's contract: a backfill is named after its migration folder (or its definition's name). */
const backfillName = migrationName.meta({ description: 'The backfill to control: the migration folder holding backfill.json.' });

/**
 * RDS DB instance / Aurora cluster identifier rules: 1-63 letters, digits or hyphens, a letter
 * first, no two consecutive hyphens, no trailing hyphen. Checked here so a restore fails before
 * the (slow, billable) RDS call rather than on it.
 */
const RDS_IDENTIFIER_RULE = 'must be an RDS identifier (1-63 letters, digits or hyphens; a letter first; no "--"; no trailing hyphen)';
const rdsIdentifier = z
  .string({ error: rule(RDS_IDENTIFIER_RULE) })
  .regex(/^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}$/, { error: RDS_IDENTIFIER_RULE })
  .refine((s) => !s.endsWith('-'), { error: RDS_IDENTIFIER_RULE })
  .meta({ description: 'Identifier of the NEW instance (or Aurora cluster) to restore into; the source is never touched.' });

/** An ISO 8601 timestamp with an explicit zone: a restore time without one is ambiguous. */
const RESTORE_TO_RULE = 'must be "pre-migration", "latest" or an ISO 8601 timestamp with a time zone (e.g. 2024-01-25T10:30:00Z)';
const restoreTo = z.union([z.enum(RESTORE_POINTS), z.iso.datetime({ offset: true, local: false, error: RESTORE_TO_RULE })], {
  error: rule(RESTORE_TO_RULE),
})
  .refine((s) => (RESTORE_POINTS as readonly string[]).includes(s) || !Number.isNaN(Date.parse(s)), { error: RESTORE_TO_RULE })
  .meta({ description: '"pre-migration" (the recovery point recorded before the last deploy), "latest" (latest restorable time), or an ISO 8601 timestamp with a zone.' });

const PID_RULE = 'must be a PostgreSQL backend pid (a positive integer)';
const pid = z.number({ error: rule(PID_RULE) }).int({ error: PID_RULE }).min(1, { error: PID_RULE }).max(2147483647, { error: PID_RULE });

/** A setting's execution-input field: its schema, default and doc from the settings table. */
function inputSetting<T>(setting: { schema(): z.ZodType<T>; readonly default: T; readonly doc: string }) {
  return setting.schema().default(setting.default as never).meta({ description: `${setting.doc}.` });
}

// ---------------------------------------------------------------- the schema

const objectRule = (what: string) => ({ error: rule(`must be an object (${what})`) });

export const executionInputSchema = z
  .strictObject(
    {
      action: enumOf(EXECUTION_ACTIONS).meta({ description: 'What this execution does.' }),
      snapshot: inputSetting(SETTINGS.snapshot),
      approve: z
        .array(migrationName, { error: rule('must be an array of migration folder names') })
        .default(() => [...EXECUTION_INPUT_DEFAULTS.approve])
        .meta({ description: 'Dangerous migrations approved for this execution, by folder name.' }),
      dryRun: inputSetting(SETTINGS.dryRun),
      lockTimeoutMs: inputSetting(SETTINGS.lockTimeoutMs),
      maxLockRetries: inputSetting(SETTINGS.maxLockRetries),
      monitorMinutes: inputSetting(SETTINGS.monitorMinutes),
      resolve: z
        .strictObject(
          {
            migration: migrationName,
            as: enumOf(RESOLVE_AS).meta({ description: 'Mark the failed migration as applied (fixed by hand) or rolled back.' }),
          },
          objectRule('{ migration, as }'),
        )
        .optional()
        .meta({ description: 'Required when action is "resolve".' }),
      restore: z
        .strictObject({ to: restoreTo, targetIdentifier: rdsIdentifier.optional() }, objectRule('{ to, targetIdentifier? }'))
        .optional()
        .meta({ description: 'Required when action is "restore".' }),
      backfill: z
        .strictObject(
          { name: backfillName, command: enumOf(BACKFILL_COMMANDS).meta({ description: 'Backfill control.' }) },
          objectRule('{ name, command }'),
        )
        .optional()
        .meta({ description: 'Required when action is "backfill".' }),
      blockers: z
        .strictObject(
          {
            terminate: z
              .array(pid, { error: rule('must be an array of at most 100 backend pids') })
              .max(100, { error: 'must be an array of at most 100 backend pids' })
              .default(() => [])
              .meta({ description: 'Backend pids to terminate (pg_terminate_backend); each only if it still blocks another session when the Lambda looks.' }),
          },
          objectRule('{ terminate? }'),
        )
        .optional()
        .meta({ description: 'Only with action "blockers"; without terminate it lists the blocking sessions.' }),
      rollback: z
        .strictObject({ migration: migrationName }, objectRule('{ migration }'))
        .optional()
        .meta({ description: 'Required when action is "rollback": runs the migration folder\'s rollback.sql.' }),
    },
    { error: rule('must be a JSON object') },
  )
  .superRefine((input, ctx) => {
    for (const [block, spec] of Object.entries(ACTION_BLOCKS)) {
      const present = input[block as keyof typeof ACTION_BLOCKS] !== undefined;
      if (spec.required && input.action === spec.action && !present) {
        ctx.addIssue({ code: 'custom', path: [block], message: `required when action is "${spec.action}"` });
      }
      if (present && input.action !== spec.action) {
        ctx.addIssue({ code: 'custom', path: [block], message: `only allowed when action is "${spec.action}" (action is "${input.action}")` });
      }
    }
  });

/** The validated input, defaults applied. */
export type ExecutionInput = z.output<typeof executionInputSchema>;
/** What a caller may send (every field but `action` optional). */
export type ExecutionInputRequest = z.input<typeof executionInputSchema>;

// ---------------------------------------------------------------- parse

function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const at = pathText(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `unknown field "${at ? `${at}.${key}` : key}"`).join('; ');
  }
  return at ? `${at}: ${issue.message}` : `execution input: ${issue.message}`;
}

/**
 * Validates an execution input and applies the defaults. Throws InputValidationError whose
 * message names every offending field (e.g. `lockTimeoutMs: must be an integer between 100 and 60000`).
 */
export function parseExecutionInput(raw: unknown): ExecutionInput {
  const result = executionInputSchema.safeParse(raw);
  if (result.success) return result.data;
  const messages = [...new Set(result.error.issues.map(formatIssue))];
  throw new InputValidationError(messages.join('; '), { details: { fields: result.error.issues.map((i) => pathText(i.path) || '$') } });
}

// ---------------------------------------------------------------- JSON Schema

/**
 * JSON Schema (draft 2020-12) of what a caller may send. The cross-field rules that zod checks in
 * code are added as if/then clauses so editors and the console's users see them too.
 */
export function executionInputJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(executionInputSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const rules: Record<string, unknown>[] = [];
  for (const [block, spec] of Object.entries(ACTION_BLOCKS)) {
    const whenAction = { properties: { action: { const: spec.action } }, required: ['action'] };
    if (spec.required) rules.push({ if: whenAction, then: { required: [block] } });
    rules.push({ if: { not: whenAction }, then: { not: { required: [block] } } });
  }
  return {
    $schema: schema.$schema,
    title: 'migration-runner execution input',
    description: 'Input of the migration-runner Step Functions state machine (console, CLI and CodePipeline).',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
    allOf: rules,
  };
}
