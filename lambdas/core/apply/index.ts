/** Applying migrations: the one orchestration (barriers, catch-up, time budget) and the Lambda's steps. */
export { applyMigrations, type ApplyOptions, type ApplyOutcome } from './orchestrate';
export { isOwed, owedBarriers, readBackfills, type Barrier } from './barriers';
export { TimeBudget, type TimeBudgetOptions } from './budget';
export { deployStep, type DeployStepOptions } from './step';
export { rollbackStep, type RollbackStepOptions } from './rollback';
