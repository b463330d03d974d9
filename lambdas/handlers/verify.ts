/** Verify Lambda entry: the real ports (CloudWatch alarms, HTTP), built once at cold start. */
import { alarmsApi } from '../adapters/cloudwatch';
import { fetchProbe } from '../adapters/http';
import { createVerifyHandler } from './factories/verify';
import { environmentDeps } from './shared/deps';
import { lambdaHandler, powertoolsPorts } from './shared/powertools';

export const handler = lambdaHandler('verify', createVerifyHandler({ ...environmentDeps(process.env, powertoolsPorts), alarms: alarmsApi(), http: fetchProbe }));
