/**
 * "Verify a backup exists", done with the RDS API instead of the console: point-in-time restore is
 * enabled, its LatestRestorableTime is recent (RDS uploads WAL about every 5 minutes; much older
 * means archiving is stuck) and an automated snapshot exists and is not stale. Instance or Aurora
 * cluster (an Aurora instance's backups are its cluster's).
 */
import type { BackupReport } from '../contracts';
import type { RdsBackupApi } from './ports';

export interface BackupPolicy {
  readonly instanceIdentifier?: string;
  readonly clusterIdentifier?: string;
  /** LatestRestorableTime must be at most this old. @default 15 */
  readonly maxRestorableAgeMinutes: number;
  /** The newest automated snapshot must be at most this old. @default 48 */
  readonly maxSnapshotAgeHours: number;
  /** Only for local runs: report kind "skipped" and ok. */
  readonly skip?: boolean;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

export async function checkBackup(api: RdsBackupApi, policy: BackupPolicy, now: Date): Promise<BackupReport> {
  if (policy.skip) {
    return { ok: true, problems: [], kind: 'skipped', identifier: null, pitrEnabled: false, latestRestorableTime: null, latestRestorableAgeMinutes: null, newestSnapshot: null };
  }
  const problems: string[] = [];
  let kind: 'instance' | 'cluster';
  let identifier: string;
  let retention = 0;
  let latest: Date | null = null;

  if (policy.clusterIdentifier) {
    kind = 'cluster';
    identifier = policy.clusterIdentifier;
  } else if (policy.instanceIdentifier) {
    kind = 'instance';
    identifier = policy.instanceIdentifier;
  } else {
    // Fail closed: without an identifier nothing proves a backup exists.
    return {
      ok: false,
      problems: ['no database identifier configured (DB_INSTANCE_IDENTIFIER or DB_CLUSTER_IDENTIFIER): cannot prove a restorable backup exists'],
      kind: 'instance',
      identifier: null,
      pitrEnabled: false,
      latestRestorableTime: null,
      latestRestorableAgeMinutes: null,
      newestSnapshot: null,
    };
  }

  if (kind === 'instance') {
    const instance = await api.describeInstance(identifier);
    if (!instance) {
      problems.push(`RDS instance ${identifier} not found`);
    } else if (instance.clusterIdentifier) {
      // Aurora: the cluster holds the backups.
      kind = 'cluster';
      identifier = instance.clusterIdentifier;
    } else {
      retention = instance.backupRetentionPeriod;
      latest = instance.latestRestorableTime;
    }
  }
  if (kind === 'cluster') {
    const cluster = await api.describeCluster(identifier);
    if (!cluster) problems.push(`Aurora cluster ${identifier} not found`);
    else {
      retention = cluster.backupRetentionPeriod;
      latest = cluster.latestRestorableTime;
    }
  }

  const exists = problems.length === 0;
  const pitrEnabled = exists && retention > 0;
  if (exists && !pitrEnabled) problems.push(`point-in-time restore is disabled on ${kind} ${identifier} (BackupRetentionPeriod 0): enable automated backups first`);
  let ageMinutes: number | null = null;
  if (pitrEnabled) {
    if (!latest) problems.push(`${kind} ${identifier} reports no LatestRestorableTime yet (first backup not finished)`);
    else {
      ageMinutes = round1((now.getTime() - latest.getTime()) / 60_000);
      if (ageMinutes > policy.maxRestorableAgeMinutes) {
        problems.push(
          `LatestRestorableTime of ${kind} ${identifier} is ${latest.toISOString()}, ${ageMinutes} minutes ago (limit ${policy.maxRestorableAgeMinutes}): WAL archiving may be stuck, a restore would lose those minutes`,
        );
      }
    }
  }

  let newestSnapshot: BackupReport['newestSnapshot'] = null;
  if (exists) {
    const snapshot = await api.newestAutomatedSnapshot(kind, identifier);
    if (!snapshot) problems.push(`no available automated snapshot of ${kind} ${identifier}`);
    else {
      const ageHours = round1((now.getTime() - snapshot.createdAt.getTime()) / 3_600_000);
      newestSnapshot = { identifier: snapshot.identifier, createdAt: snapshot.createdAt.toISOString(), ageHours };
      if (ageHours > policy.maxSnapshotAgeHours) {
        problems.push(`newest automated snapshot ${snapshot.identifier} is ${ageHours} hours old (limit ${policy.maxSnapshotAgeHours})`);
      }
    }
  }

  return {
    ok: problems.length === 0,
    problems,
    kind,
    identifier,
    pitrEnabled,
    latestRestorableTime: latest ? latest.toISOString() : null,
    latestRestorableAgeMinutes: ageMinutes,
    newestSnapshot,
  };
}
