/** Realistic RDS / CloudWatch responses for aws-sdk-client-mock. */
import {
  DescribeDBClustersCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

export interface InstanceShape {
  readonly retentionDays?: number;
  readonly restorableMinutesAgo?: number | null;
  readonly snapshotHoursAgo?: number | null;
  readonly freeStorageBytes?: number;
}

/** An RDS instance `app-production` with PITR, a recent restorable time and a nightly snapshot. */
export function mockRdsInstance(shape: InstanceShape = {}) {
  const rds = mockClient(RDSClient);
  const restorable = shape.restorableMinutesAgo === undefined ? 4 : shape.restorableMinutesAgo;
  const instances = {
    DBInstances: [
      {
        DBInstanceIdentifier: 'app-production',
        DBInstanceStatus: 'available',
        Engine: 'postgres',
        BackupRetentionPeriod: shape.retentionDays ?? 7,
        LatestRestorableTime: restorable === null ? undefined : minutesAgo(restorable),
        AllocatedStorage: 100,
      },
    ],
  };
  rds.on(DescribeDBInstancesCommand).resolves(instances);
  const snapshotAge = shape.snapshotHoursAgo === undefined ? 9 : shape.snapshotHoursAgo;
  rds.on(DescribeDBSnapshotsCommand).resolves({
    DBSnapshots:
      snapshotAge === null
        ? []
        : [
            { DBSnapshotIdentifier: 'rds:app-production-old', SnapshotCreateTime: minutesAgo(snapshotAge * 60 + 24 * 60), Status: 'available', SnapshotType: 'automated' },
            { DBSnapshotIdentifier: 'rds:app-production-new', SnapshotCreateTime: minutesAgo(snapshotAge * 60), Status: 'available', SnapshotType: 'automated' },
          ],
  });
  const cloudWatch = mockClient(CloudWatchClient);
  cloudWatch.on(GetMetricStatisticsCommand).resolves({
    Label: 'FreeStorageSpace',
    Datapoints: [
      { Timestamp: minutesAgo(3), Minimum: (shape.freeStorageBytes ?? 50 * 1024 ** 3) + 1024 ** 2, Unit: 'Bytes' },
      { Timestamp: minutesAgo(1), Minimum: shape.freeStorageBytes ?? 50 * 1024 ** 3, Unit: 'Bytes' },
    ],
  });
  return { rds, cloudWatch, instances };
}

/** An Aurora cluster `app-aurora` (instance `app-aurora-1` belongs to it). */
export function mockRdsCluster(restorableMinutesAgo = 3) {
  const rds = mockClient(RDSClient);
  rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [{ DBInstanceIdentifier: 'app-aurora-1', DBInstanceStatus: 'available', Engine: 'aurora-postgresql', DBClusterIdentifier: 'app-aurora', BackupRetentionPeriod: 1 }],
  });
  rds.on(DescribeDBClustersCommand).resolves({
    DBClusters: [{ DBClusterIdentifier: 'app-aurora', Status: 'available', Engine: 'aurora-postgresql', BackupRetentionPeriod: 7, LatestRestorableTime: minutesAgo(restorableMinutesAgo) }],
  });
  rds.on(DescribeDBClusterSnapshotsCommand).resolves({
    DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: 'rds:app-aurora-2026', SnapshotCreateTime: minutesAgo(300), Status: 'available', SnapshotType: 'automated' }],
  });
  const cloudWatch = mockClient(CloudWatchClient);
  return { rds, cloudWatch };
}

/** The error the SDK throws when RDS throttles. */
export function throttling(): Error {
  const error = new Error('Rate exceeded');
  error.name = 'Throttling';
  (error as unknown as { $metadata: unknown }).$metadata = { httpStatusCode: 400 };
  return error;
}
