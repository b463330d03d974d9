/** The AWS control-plane ports of preflight (RDS, CloudWatch storage) and verify (alarms, HTTP). */
import { alarmsApi, storageMetricsApi } from '../../adapters/cloudwatch';
import { fetchProbe } from '../../adapters/http';
import { rdsBackupApi } from '../../adapters/rds';

export const preflightApis = { rds: rdsBackupApi(), storage: storageMetricsApi() };
export const verifyApis = { alarms: alarmsApi(), http: fetchProbe };
