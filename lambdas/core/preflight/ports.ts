/**
 * What preflight needs from AWS, as small interfaces: the RDS control plane (backups) and
 * CloudWatch (free storage). Adapters: lambdas/adapters/rds.ts and cloudwatch.ts.
 */

export interface RdsInstanceFacts {
  readonly identifier: string;
  readonly status: string;
  /** 0 disables automated backups and with them point-in-time restore. */
  readonly backupRetentionPeriod: number;
  readonly latestRestorableTime: Date | null;
  /** Set when the instance belongs to an Aurora cluster (backups are the cluster's). */
  readonly clusterIdentifier: string | null;
  readonly allocatedStorageGiB: number | null;
}

export interface RdsClusterFacts {
  readonly identifier: string;
  readonly status: string;
  readonly backupRetentionPeriod: number;
  readonly latestRestorableTime: Date | null;
}

export interface SnapshotFacts {
  readonly identifier: string;
  readonly createdAt: Date;
  readonly status: string;
}

export interface RdsBackupApi {
  /** null when the instance does not exist. */
  describeInstance(identifier: string): Promise<RdsInstanceFacts | null>;
  describeCluster(identifier: string): Promise<RdsClusterFacts | null>;
  /** Newest *available* automated snapshot, or null when there is none. */
  newestAutomatedSnapshot(kind: 'instance' | 'cluster', identifier: string): Promise<SnapshotFacts | null>;
}

export interface StorageMetricsApi {
  /** Minimum FreeStorageSpace (bytes) over the last minutes, or null when no datapoint. */
  freeStorageBytes(instanceIdentifier: string, now: Date): Promise<number | null>;
}
