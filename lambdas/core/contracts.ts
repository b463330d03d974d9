/**
 * The contract between the state machine and the four Lambdas: what each handler receives
 * (validated with zod before any connection is opened) and what it returns (small JSON: Step
 * Functions caps a state's payload at 256 KB, so every list here is capped and every text trimmed).
 *
 * Errors are not results: a refusal or a failure is thrown as one of the named errors of
 * `errors.ts`, whose `name` the ASL matches in Retry/Catch. Each handler section below says which.
 *
 * Environment of the functions (set by the CDK construct, read by the handlers): the settings
 * table, lambdas/core/settings.
 */
import { z } from 'zod';
import { InputValidationError } from './errors';
import { SETTINGS } from './settings';

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

/** Step Functions execution names: 1-80 chars; we only log them and put them in application_name. */
const executionName = z.string().min(1).max(80);
const migrationName = z.string().min(1).max(255);
const lockTimeoutMs = SETTINGS.lockTimeoutMs.schema();
const maxLockRetries = SETTINGS.maxLockRetries.schema();
const pid = z.number().int().positive();

/** Caps that keep results far below 256 KB whatever the database holds. */
export const RESULT_LIMITS = {
  /** Names in pending / applied / remaining lists. */
  names: 500,
  /** Findings kept per migration in a preflight verdict. */
  findingsPerMigration: 10,
  /** Sessions in a blockers list, long transactions in health. */
  sessions: 50,
  /** Characters of any query text or message. */
  text: 300,
} as const;

/** A session in a lock conflict (the runbook's blocking-locks query, with durations). */
export interface BlockerSession {
  readonly pid: number;
  /** PIDs this session waits for (pg_blocking_pids); empty for a pure blocker. */
  readonly blockedBy: number[];
  /** true when at least one other session waits for this one. */
  readonly blocking: boolean;
  readonly user: string | null;
  readonly applicationName: string | null;
  /** pg_stat_activity.state: active, idle in transaction, ... */
  readonly state: string | null;
  readonly waitEventType: string | null;
  /** Seconds since the transaction began (null outside a transaction). */
  readonly transactionSeconds: number | null;
  /** Seconds since the current (or last) query began. */
  readonly querySeconds: number | null;
  /** Seconds in the current state (for a waiting session: how long it has waited). */
  readonly stateSeconds: number | null;
  /** The query text, trimmed to RESULT_LIMITS.text. Bind values never appear (pg shows $1). */
  readonly query: string | null;
}

export type Verdict = 'safe' | 'careful' | 'dangerous';

// ---------------------------------------------------------------------------------------------
// preflight
// ---------------------------------------------------------------------------------------------

/**
 * `input` is the execution input exactly as the execution received it; the handler validates it
 * with `parseExecutionInput` (lambdas/core/execution-input.ts) and rejects unknown fields there.
 *
 * `mode` 'validate' (ValidateOneCallInput in the ASL) only runs that validation and returns a
 * PreflightValidation: one-call actions (blockers, resolve, rollback, backfill, restore) skip the
 * full preflight because it connects to the database they may be called to rescue, yet their input
 * must still be checked before any task acts on it. Absent means 'plan' (the full preflight).
 */
export const preflightEventSchema = z.strictObject({
  input: z.record(z.string(), z.unknown()),
  executionName: executionName.optional(),
  mode: z.enum(['plan', 'validate']).optional(),
});
export type PreflightEvent = z.infer<typeof preflightEventSchema>;

/** What preflight returns in 'validate' mode: the input passed the schema (it throws otherwise). */
export interface PreflightValidation {
  readonly valid: true;
  readonly action: string;
}

export interface PreflightFinding {
  readonly rule: string;
  readonly severity: Verdict;
  readonly line: number | null;
  readonly message: string;
}

export interface MigrationVerdict {
  readonly name: string;
  readonly verdict: Verdict;
  /** Named in the input's `approve`. */
  readonly approved: boolean;
  /** Has backfill.json: apply stops after it until the backfill is done. */
  readonly backfill: boolean;
  /** Has rollback.sql. */
  readonly rollback: boolean;
  readonly findings: PreflightFinding[];
}

export interface HealthReport {
  readonly ok: boolean;
  /** Operator-readable reasons, empty when ok. */
  readonly problems: string[];
  readonly serverVersion: string;
  readonly databaseBytes: number;
  readonly connections: { readonly total: number; readonly active: number; readonly max: number };
  /** Transactions open longer than the limit (excluding ours). */
  readonly longTransactions: BlockerSession[];
  /** Sessions currently waiting on a lock held by another session. */
  readonly blockedSessions: number;
  /** Seconds; null when this server has no replicas / is not a replica. */
  readonly replicationLagSeconds: number | null;
  /** CloudWatch FreeStorageSpace (bytes); null when not on RDS or not configured. */
  readonly freeStorageBytes: number | null;
  /** Bytes the pending DDL may need (rewrites and index builds of the tables it touches). */
  readonly ddlBytesEstimate: number;
}

export interface BackupReport {
  readonly ok: boolean;
  readonly problems: string[];
  /** instance / cluster: checked with the RDS API; skipped: BACKUP_CHECK=skip (local runs only). */
  readonly kind: 'instance' | 'cluster' | 'skipped';
  readonly identifier: string | null;
  /** BackupRetentionPeriod > 0. */
  readonly pitrEnabled: boolean;
  readonly latestRestorableTime: string | null;
  readonly latestRestorableAgeMinutes: number | null;
  readonly newestSnapshot: { readonly identifier: string; readonly createdAt: string; readonly ageHours: number } | null;
}

/** An index build or table rewrite of a pending migration, with its estimated duration. */
export interface LongOperation {
  readonly migration: string;
  readonly line: number;
  readonly table: string;
  readonly tableBytes: number;
  readonly estimatedSeconds: number;
  /** Longer than one apply invocation can run (15 minutes): run it outside Lambda. */
  readonly exceedsLambda: boolean;
}

/** What the snapshot branch creates (identifier derived from the execution name: idempotent). */
export interface SnapshotPlan {
  readonly kind: 'instance' | 'cluster';
  readonly sourceIdentifier: string;
  readonly identifier: string;
}

/** A reason preflight refuses to go on; thrown as `error` for a deploy, listed for a dry run. */
export interface Refusal {
  readonly error: 'FailedMigrationsError' | 'SqlSyntaxError' | 'DangerousMigrationNotApprovedError' | 'DatabaseUnhealthyError' | 'NoRestorableBackupError';
  readonly reason: string;
}

/**
 * The plan. For `action: "deploy"` without `dryRun`, any refusal is THROWN as its named error
 * (first of: FailedMigrationsError, SqlSyntaxError, DangerousMigrationNotApprovedError,
 * DatabaseUnhealthyError, NoRestorableBackupError; `details.refusals` lists them all) and no plan
 * is returned. Health and backup refuse only when something is pending. For every other action or a dry run the
 * plan is returned with the refusals listed, so `needsApproval`/`approvedMissing` can be shown.
 */
export interface PreflightResult {
  readonly action: string;
  readonly dryRun: boolean;
  readonly nothingPending: boolean;
  readonly pending: string[];
  readonly failed: string[];
  /** Applied migrations whose local file changed since (warning only, like Prisma hides it). */
  readonly edited: string[];
  /** Rows in the database without a local folder. */
  readonly dbOnly: string[];
  readonly verdict: Verdict;
  readonly verdicts: MigrationVerdict[];
  /** Take a manual snapshot before applying (input `snapshot` policy and the verdicts). */
  readonly needsSnapshot: boolean;
  readonly snapshot: SnapshotPlan | null;
  /** A dangerous migration is pending. */
  readonly needsApproval: boolean;
  /** Dangerous pending migrations the input does not approve. */
  readonly approvedMissing: string[];
  readonly blockers: BlockerSession[];
  readonly health: HealthReport;
  readonly backup: BackupReport;
  /** Index builds and rewrites of pending migrations, longest first, estimated from table sizes. */
  readonly longOperations: LongOperation[];
  /** ISO time to restore to if this deploy goes wrong (taken before anything is changed). */
  readonly restorePoint: string;
  readonly refusals: Refusal[];
}

// ---------------------------------------------------------------------------------------------
// apply
// ---------------------------------------------------------------------------------------------

export const applyDeployEventSchema = z.strictObject({
  command: z.literal('deploy'),
  executionName: executionName.optional(),
  lockTimeoutMs: lockTimeoutMs.optional(),
  maxLockRetries: maxLockRetries.optional(),
});
export const applyResolveEventSchema = z.strictObject({
  command: z.literal('resolve'),
  executionName: executionName.optional(),
  migration: migrationName,
  as: z.enum(['applied', 'rolled-back']),
});
export const applyRollbackEventSchema = z.strictObject({
  command: z.literal('rollback'),
  executionName: executionName.optional(),
  migration: migrationName,
  lockTimeoutMs: lockTimeoutMs.optional(),
});
export const applyBlockersEventSchema = z.strictObject({
  command: z.literal('blockers'),
  executionName: executionName.optional(),
  /** PIDs to terminate; each only if it is still blocking someone when we look. */
  terminate: z.array(pid).max(100).optional(),
});
export const applyEventSchema = z.discriminatedUnion('command', [
  applyDeployEventSchema,
  applyResolveEventSchema,
  applyRollbackEventSchema,
  applyBlockersEventSchema,
]);
export type ApplyEvent = z.infer<typeof applyEventSchema>;
export type ApplyDeployEvent = z.infer<typeof applyDeployEventSchema>;
export type ApplyResolveEvent = z.infer<typeof applyResolveEventSchema>;
export type ApplyRollbackEvent = z.infer<typeof applyRollbackEventSchema>;
export type ApplyBlockersEvent = z.infer<typeof applyBlockersEventSchema>;

/**
 * deploy: applies pending migrations in order and stops
 * - `done`: nothing remains;
 * - `barrier`: the migration just applied has a backfill that is not done; run BackfillBatch
 *   with `{ name: barrier.backfill, command: "run" }` until done, then call deploy again;
 * - `time`: too little Lambda time left for the next migration; call deploy again.
 * Throws FailedMigrationsError (P3009), MigrationFailedError (P3018, details: migration, sqlState,
 * blockers), LockRetriesExhaustedError (details: migration, blockers), AdvisoryLockTimeoutError.
 */
export interface ApplyDeployResult {
  readonly command: 'deploy';
  readonly status: 'done' | 'barrier' | 'time';
  readonly applied: string[];
  readonly remaining: string[];
  readonly barrier?: { readonly migration: string; readonly backfill: string };
}
/** Throws MigrationNotFoundError, MigrationAlreadyAppliedError, MigrationNeverAppliedError, MigrationNotFailedError. */
export interface ApplyResolveResult {
  readonly command: 'resolve';
  readonly migration: string;
  readonly as: 'applied' | 'rolled-back';
}
/**
 * Runs the migration's rollback.sql in one transaction, then marks its unfinished rows rolled back.
 * Throws RollbackFailedError (no rollback.sql, or it failed: details migration, sqlState).
 */
export interface ApplyRollbackResult {
  readonly command: 'rollback';
  readonly migration: string;
  /** Rows of `_prisma_migrations` marked rolled back (0 if the migration had finished). */
  readonly rowsMarkedRolledBack: number;
}
export interface ApplyBlockersResult {
  readonly command: 'blockers';
  readonly sessions: BlockerSession[];
  /** PIDs terminated (pg_terminate_backend returned true). */
  readonly terminated: number[];
  /** PIDs named but left alone, with why (not blocking anymore, gone, ours, ...). */
  readonly skipped: { readonly pid: number; readonly reason: string }[];
}
export type ApplyResult = ApplyDeployResult | ApplyResolveResult | ApplyRollbackResult | ApplyBlockersResult;

// ---------------------------------------------------------------------------------------------
// backfill
// ---------------------------------------------------------------------------------------------

export const backfillEventSchema = z.strictObject({
  /** The backfill's name (backfill.json `name`, as in apply's `barrier.backfill`) or its migration folder's name. */
  name: migrationName,
  command: z.enum(['run', 'pause', 'resume', 'cancel', 'status']),
  executionName: executionName.optional(),
});
export type BackfillEvent = z.infer<typeof backfillEventSchema>;

/**
 * One time-budgeted run (command run) or a control command. `done` is true exactly when
 * `status === "done"`: then call apply deploy again. `waitSeconds > 0`: the database asked us to
 * hold; Wait that long (SecondsPath) and run again. Throws BackfillFailedError,
 * BackfillLeaseHeldError, BackfillDefinitionError.
 */
export interface BackfillResult {
  readonly name: string;
  readonly status: 'running' | 'holding' | 'paused' | 'failed' | 'cancelled' | 'done' | 'pending';
  readonly done: boolean;
  /** Key of the last row done (JSON of the key columns), null before the first batch. */
  readonly cursor: unknown;
  readonly rowsDone: number;
  readonly rowsEstimate: number;
  readonly ratePerSec: number;
  readonly etaSeconds: number | null;
  readonly waitSeconds: number;
  /** Partitions requested (backfill.json `parallel`) and walking at once in this call, and why fewer. */
  readonly parallel?: { readonly requested: number; readonly running: number; readonly reason?: string };
}

// ---------------------------------------------------------------------------------------------
// verify
// ---------------------------------------------------------------------------------------------

export const verifyEventSchema = z.strictObject({
  mode: z.literal('verify'),
  executionName: executionName.optional(),
  /**
   * When this deploy started (ISO, e.g. `$$.Execution.StartTime`): migrations finished since then
   * are "this deploy" for the NOT VALID check and verify.sql. Default: the last 24 hours.
   */
  since: z.iso.datetime({ offset: true }).optional(),
});
export const alarmsEventSchema = z.strictObject({
  mode: z.literal('alarms'),
  executionName: executionName.optional(),
  /** Default: the function's ALARM_NAMES. */
  alarmNames: z.array(z.string().min(1).max(255)).max(100).optional(),
});
export const verifyHandlerEventSchema = z.discriminatedUnion('mode', [verifyEventSchema, alarmsEventSchema]);
export type VerifyEvent = z.infer<typeof verifyEventSchema>;
export type AlarmsEvent = z.infer<typeof alarmsEventSchema>;
export type VerifyHandlerEvent = z.infer<typeof verifyHandlerEventSchema>;

export interface VerifyCheck {
  readonly name: 'status-clean' | 'no-invalid-indexes' | 'no-not-valid-constraints' | 'verify-sql' | 'health-url';
  readonly ok: boolean;
  readonly detail: string;
}
/** Returned only when every check passed; otherwise VerificationFailedError names the failed checks. */
export interface VerifyResult {
  readonly mode: 'verify';
  readonly ok: true;
  readonly checks: VerifyCheck[];
  /** The alarms the monitoring loop watches (function's ALARM_NAMES). */
  readonly alarmNames: string[];
}
export interface AlarmsResult {
  readonly mode: 'alarms';
  readonly state: 'OK' | 'ALARM';
  readonly firing: { readonly name: string; readonly reason: string; readonly since: string | null }[];
  /** Configured alarms CloudWatch does not know (treated as not firing, reported). */
  readonly missing: string[];
}
export type VerifyHandlerResult = VerifyResult | AlarmsResult;

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/**
 * Validates an event; the error names every offending field (`terminate[0]: ...`) and never
 * echoes values (an event may carry anything).
 */
export function parseEvent<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = formatPath(issue.path);
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    return `${path || '(event)'}: ${issue.message}${keys}`;
  });
  throw new InputValidationError(`invalid ${what} event: ${problems.join('; ')}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), '');
}

/** Trims a text to the result limit. */
export function clip(text: string | null | undefined, max: number = RESULT_LIMITS.text): string | null {
  if (text === null || text === undefined) return null;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
