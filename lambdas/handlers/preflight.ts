/** Preflight Lambda entry: the real ports (RDS and CloudWatch over the AWS SDK), built once at cold start. */
import { storageMetricsApi } from '../adapters/cloudwatch';
import { rdsBackupApi } from '../adapters/rds';
import { createPreflightHandler } from './factories/preflight';
import { environmentDeps } from './shared/deps';
import { lambdaHandler, powertoolsPorts } from './shared/powertools';

export const handler = lambdaHandler(
  'preflight',
  createPreflightHandler({ ...environmentDeps(process.env, powertoolsPorts), rds: rdsBackupApi(), storage: storageMetricsApi() }),
);
