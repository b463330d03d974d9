/**
 * StorageMetricsApi and AlarmsApi over the AWS SDK (CloudWatch), with throttling retries. The SDK
 * package is loaded on first use (verify's checks and apply never need it).
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { StorageMetricsApi } from '../core/preflight/ports';
import type { AlarmFacts, AlarmsApi } from '../core/verify/ports';
import { clientHooks, retryThrottled, type RetryOptions } from './aws-clients';

type CloudWatchSdk = typeof import('@aws-sdk/client-cloudwatch');
let sdk: CloudWatchSdk | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cloudWatchSdk = (): CloudWatchSdk => (sdk ??= require('@aws-sdk/client-cloudwatch') as CloudWatchSdk);

let cloudWatchClient: CloudWatchClient | undefined;
function cloudWatchClientInstance(): CloudWatchClient {
  if (!cloudWatchClient) {
    cloudWatchClient = new (cloudWatchSdk().CloudWatchClient)({});
    clientHooks.onCreate?.(cloudWatchClient);
  }
  return cloudWatchClient;
}

/** FreeStorageSpace is published every minute; look back far enough to always find one. */
const LOOKBACK_MS = 15 * 60_000;

export function storageMetricsApi(client: () => CloudWatchClient = cloudWatchClientInstance, retry: RetryOptions = {}): StorageMetricsApi {
  return {
    async freeStorageBytes(instanceIdentifier, now) {
      const result = await retryThrottled(
        () =>
          client().send(
            new (cloudWatchSdk().GetMetricStatisticsCommand)({
              Namespace: 'AWS/RDS',
              MetricName: 'FreeStorageSpace',
              Dimensions: [{ Name: 'DBInstanceIdentifier', Value: instanceIdentifier }],
              StartTime: new Date(now.getTime() - LOOKBACK_MS),
              EndTime: now,
              Period: 60,
              Statistics: ['Minimum'],
            }),
          ),
        retry,
      );
      const points = (result.Datapoints ?? []).filter((p) => p.Minimum !== undefined && p.Timestamp);
      points.sort((a, b) => new Date(b.Timestamp!).getTime() - new Date(a.Timestamp!).getTime());
      return points.length > 0 ? points[0].Minimum! : null;
    },
  };
}

/** DescribeAlarms accepts at most 100 names per call. */
const NAMES_PER_CALL = 100;

export function alarmsApi(client: () => CloudWatchClient = cloudWatchClientInstance, retry: RetryOptions = {}): AlarmsApi {
  return {
    async describeAlarms(names) {
      const facts: AlarmFacts[] = [];
      for (let i = 0; i < names.length; i += NAMES_PER_CALL) {
        const result = await retryThrottled(
          () =>
            client().send(
              new (cloudWatchSdk().DescribeAlarmsCommand)({ AlarmNames: names.slice(i, i + NAMES_PER_CALL), AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: NAMES_PER_CALL }),
            ),
          retry,
        );
        for (const alarm of [...(result.MetricAlarms ?? []), ...(result.CompositeAlarms ?? [])]) {
          facts.push({
            name: alarm.AlarmName ?? '?',
            state: (alarm.StateValue as AlarmFacts['state'] | undefined) ?? 'INSUFFICIENT_DATA',
            reason: alarm.StateReason ?? '',
            updatedAt: alarm.StateUpdatedTimestamp ? new Date(alarm.StateUpdatedTimestamp) : null,
          });
        }
      }
      return facts;
    },
  };
}
