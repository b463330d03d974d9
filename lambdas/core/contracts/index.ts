/**
 * The contract between the state machine and the four Lambdas, one file per step: what each
 * handler receives (validated with zod before any connection is opened) and what it returns (small
 * JSON: every list capped, every text trimmed).
 *
 * Errors are not results: a refusal or a failure is thrown as one of the named errors of
 * `errors.ts`, whose `name` the ASL matches in Retry/Catch. Each step's file says which.
 * The functions' environment: the settings table, lambdas/core/settings.
 */
export * from './shared';
export * from './preflight';
export * from './apply';
export * from './backfill';
export * from './verify';
