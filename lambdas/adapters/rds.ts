/**
 * RdsBackupApi over the AWS SDK (RDS control plane), with throttling retries. The SDK package is
 * loaded on first use: only preflight calls RDS, once per execution.
 */
import type { RDSClient } from '@aws-sdk/client-rds';
import type { RdsBackupApi, RdsClusterFacts, RdsInstanceFacts, SnapshotFacts } from '../core/preflight/ports';
import { clientHooks, retryThrottled, type RetryOptions } from './aws-clients';

type RdsSdk = typeof import('@aws-sdk/client-rds');
let sdk: RdsSdk | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rdsSdk = (): RdsSdk => (sdk ??= require('@aws-sdk/client-rds') as RdsSdk);

let rdsClient: RDSClient | undefined;
function rdsClientInstance(): RDSClient {
  if (!rdsClient) {
    rdsClient = new (rdsSdk().RDSClient)({});
    clientHooks.onCreate?.(rdsClient);
  }
  return rdsClient;
}

const NOT_FOUND = new Set(['DBInstanceNotFoundFault', 'DBInstanceNotFound', 'DBClusterNotFoundFault', 'DBClusterNotFound']);
/** Automated snapshots listed at most (pages of 100): a retention of 35 days holds far fewer. */
const MAX_PAGES = 5;

async function orNull<T>(call: () => Promise<T>): Promise<T | null> {
  try {
    return await call();
  } catch (error) {
    if (NOT_FOUND.has((error as { name?: string }).name ?? '')) return null;
    throw error;
  }
}

function newest(snapshots: SnapshotFacts[]): SnapshotFacts | null {
  const available = snapshots.filter((s) => s.status === 'available');
  available.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  return available[0] ?? null;
}

export function rdsBackupApi(client: () => RDSClient = rdsClientInstance, retry: RetryOptions = {}): RdsBackupApi {
  const send = <T>(call: () => Promise<T>) => retryThrottled(call, retry);
  return {
    async describeInstance(identifier): Promise<RdsInstanceFacts | null> {
      const result = await orNull(() => send(() => client().send(new (rdsSdk().DescribeDBInstancesCommand)({ DBInstanceIdentifier: identifier }))));
      const instance = result?.DBInstances?.[0];
      if (!instance) return null;
      return {
        identifier: instance.DBInstanceIdentifier ?? identifier,
        status: instance.DBInstanceStatus ?? 'unknown',
        backupRetentionPeriod: instance.BackupRetentionPeriod ?? 0,
        latestRestorableTime: instance.LatestRestorableTime ? new Date(instance.LatestRestorableTime) : null,
        clusterIdentifier: instance.DBClusterIdentifier ?? null,
        allocatedStorageGiB: instance.AllocatedStorage ?? null,
      };
    },
    async describeCluster(identifier): Promise<RdsClusterFacts | null> {
      const result = await orNull(() => send(() => client().send(new (rdsSdk().DescribeDBClustersCommand)({ DBClusterIdentifier: identifier }))));
      const cluster = result?.DBClusters?.[0];
      if (!cluster) return null;
      return {
        identifier: cluster.DBClusterIdentifier ?? identifier,
        status: cluster.Status ?? 'unknown',
        backupRetentionPeriod: cluster.BackupRetentionPeriod ?? 0,
        latestRestorableTime: cluster.LatestRestorableTime ? new Date(cluster.LatestRestorableTime) : null,
      };
    },
    async newestAutomatedSnapshot(kind, identifier): Promise<SnapshotFacts | null> {
      const found: SnapshotFacts[] = [];
      let marker: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        if (kind === 'instance') {
          const result = await orNull(() =>
            send(() => client().send(new (rdsSdk().DescribeDBSnapshotsCommand)({ DBInstanceIdentifier: identifier, SnapshotType: 'automated', Marker: marker }))),
          );
          for (const s of result?.DBSnapshots ?? []) {
            if (s.SnapshotCreateTime) found.push({ identifier: s.DBSnapshotIdentifier ?? '?', createdAt: new Date(s.SnapshotCreateTime), status: s.Status ?? 'unknown' });
          }
          marker = result?.Marker;
        } else {
          const result = await orNull(() =>
            send(() => client().send(new (rdsSdk().DescribeDBClusterSnapshotsCommand)({ DBClusterIdentifier: identifier, SnapshotType: 'automated', Marker: marker }))),
          );
          for (const s of result?.DBClusterSnapshots ?? []) {
            if (s.SnapshotCreateTime) found.push({ identifier: s.DBClusterSnapshotIdentifier ?? '?', createdAt: new Date(s.SnapshotCreateTime), status: s.Status ?? 'unknown' });
          }
          marker = result?.Marker;
        }
        if (!marker) break;
      }
      return newest(found);
    },
  };
}
