/** Apply Lambda entry: the real ports, built once at cold start, under the Powertools middy stack. */
import { createApplyHandler } from './factories/apply';
import { environmentDeps } from './shared/deps';
import { lambdaHandler, powertoolsPorts } from './shared/powertools';

export const handler = lambdaHandler('apply', createApplyHandler(environmentDeps(process.env, powertoolsPorts)));
