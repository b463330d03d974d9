/** The preflight step's contract: its event, and the plan (or validation) it returns. */
import { z } from 'zod';
import { executionNameSchema, type BlockerSession, type Verdict } from './shared';

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
  executionName: executionNameSchema.optional(),
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
