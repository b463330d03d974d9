/** Backfill Lambda entry: the real ports, built once at cold start, under the Powertools middy stack. */
import { createBackfillHandler } from './factories/backfill';
import { environmentDeps } from './shared/deps';
import { lambdaHandler, powertoolsPorts } from './shared/powertools';

export const handler = lambdaHandler('backfill', createBackfillHandler(environmentDeps(process.env, powertoolsPorts)));
