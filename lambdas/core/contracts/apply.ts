/** The apply step's contract: deploy, resolve, rollback and blockers events and their results. */
import { z } from 'zod';
import { SETTINGS } from '../settings';
import { executionNameSchema, migrationNameSchema, pidSchema, type BlockerSession } from './shared';

/** Per-execution overrides apply carries: bounds from the settings table. */
const lockTimeoutMs = SETTINGS.lockTimeoutMs.schema();
const maxLockRetries = SETTINGS.maxLockRetries.schema();

export const applyDeployEventSchema = z.strictObject({
  command: z.literal('deploy'),
  executionName: executionNameSchema.optional(),
  lockTimeoutMs: lockTimeoutMs.optional(),
  maxLockRetries: maxLockRetries.optional(),
});
export const applyResolveEventSchema = z.strictObject({
  command: z.literal('resolve'),
  executionName: executionNameSchema.optional(),
  migration: migrationNameSchema,
  as: z.enum(['applied', 'rolled-back']),
});
export const applyRollbackEventSchema = z.strictObject({
  command: z.literal('rollback'),
  executionName: executionNameSchema.optional(),
  migration: migrationNameSchema,
  lockTimeoutMs: lockTimeoutMs.optional(),
});
export const applyBlockersEventSchema = z.strictObject({
  command: z.literal('blockers'),
  executionName: executionNameSchema.optional(),
  /** PIDs to terminate; each only if it is still blocking someone when we look. */
  terminate: z.array(pidSchema).max(100).optional(),
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
