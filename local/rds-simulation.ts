/**
 * RDS, simulated on one PostgreSQL server, for running the state machine offline.
 *
 * - The "source" (an instance or an Aurora cluster) is a database on the server.
 * - A snapshot is `CREATE DATABASE <snapshot> TEMPLATE <source>`: a real, restorable copy.
 * - Point-in-time recovery keeps "recovery points" (a copy taken when an execution starts, and
 *   every snapshot, both taken before the execution changes anything); a restore to time T copies
 *   the first recovery point at or after T (else the newest before it) into a NEW database named
 *   after the target identifier. The
 *   source is never touched. "Latest" copies the source as it is now.
 * - Describe calls move a resource from creating to available after `pollsUntilAvailable` polls.
 *
 * It answers both the state machine's SDK-integration tasks (Step Functions casing: `DbInstances`,
 * errors named `Rds.<Name>Exception`) and the handlers' own SDK calls (SDK casing: `DBInstances`).
 */
import { Client } from 'pg';

export type DatabaseKind = 'instance' | 'cluster';

export interface RdsSimulationOptions {
  /** Admin URL of the server (a database named in the path is ignored). */
  readonly adminUrl: string;
  /** Name of the source database on the server. */
  readonly sourceDatabase: string;
  readonly kind: DatabaseKind;
  /** RDS identifier of the source instance or cluster. */
  readonly identifier: string;
  /** Describe polls before a snapshot / restore is available. @default 1 */
  readonly pollsUntilAvailable?: number;
  /** Snapshots end in status "failed" instead of "available" (scripted failure). @default false */
  readonly failSnapshots?: boolean;
  /** Restores end in this status instead of "available" (scripted failure). */
  readonly failRestoresWith?: string;
}

interface RecoveryPoint {
  readonly database: string;
  readonly at: Date;
}

interface Resource {
  readonly identifier: string;
  readonly database: string;
  polls: number;
  readonly finalStatus: string;
  readonly createdAt: Date;
  readonly cluster?: string;
}

/** An error as Step Functions surfaces an SDK-integration failure. */
export class SimulatedServiceError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const RDS_NAME_RULE = /^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}$/;

export class RdsSimulation {
  readonly snapshots = new Map<string, Resource>();
  readonly instances = new Map<string, Resource>();
  readonly clusters = new Map<string, Resource>();
  readonly recoveryPoints: RecoveryPoint[] = [];
  /** Every call received, in order: `<action> <identifier>`. */
  readonly calls: string[] = [];
  private readonly polls: number;
  private counter = 0;

  constructor(private readonly options: RdsSimulationOptions) {
    this.polls = options.pollsUntilAvailable ?? 1;
  }

  get kind(): DatabaseKind {
    return this.options.kind;
  }

  /** The local database name that holds a snapshot or a restored resource. */
  static databaseNameFor(identifier: string): string {
    return `rds_${identifier.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`.slice(0, 63);
  }

  /** URL of a restored resource (instance identifier, or cluster identifier for Aurora). */
  urlFor(identifier: string): string {
    const resource = this.instances.get(identifier) ?? this.clusters.get(identifier);
    if (!resource) throw new Error(`no restored resource ${identifier}`);
    return this.databaseUrl(resource.database);
  }

  databaseUrl(database: string): string {
    const url = new URL(this.options.adminUrl);
    url.pathname = `/${database}`;
    return url.toString();
  }

  /** Records a recovery point (a copy of the source now), as continuous backups would allow. */
  async recordRecoveryPoint(): Promise<void> {
    const database = `${RdsSimulation.databaseNameFor(this.options.identifier)}_rp${++this.counter}`.slice(0, 63);
    await this.copyDatabase(this.options.sourceDatabase, database);
    this.recoveryPoints.push({ database, at: new Date() });
  }

  /** Drops every database this simulation created. */
  async dispose(): Promise<void> {
    const names = [
      ...this.recoveryPoints.map((p) => p.database),
      ...[...this.snapshots.values(), ...this.instances.values(), ...this.clusters.values()].map((r) => r.database),
    ];
    await this.admin(async (client) => {
      for (const name of new Set(names)) await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    });
  }

  // ------------------------------------------------------------------ Step Functions SDK integrations

  /** Dispatches `arn:aws:states:::aws-sdk:rds:<action>` with Step Functions' parameter casing. */
  async integration(action: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    switch (action) {
      case 'createDBSnapshot':
        return { DbSnapshot: await this.createSnapshot('instance', str(params, 'DbInstanceIdentifier'), str(params, 'DbSnapshotIdentifier')) };
      case 'createDBClusterSnapshot':
        return { DbClusterSnapshot: await this.createSnapshot('cluster', str(params, 'DbClusterIdentifier'), str(params, 'DbClusterSnapshotIdentifier')) };
      case 'describeDBSnapshots':
        return { DbSnapshots: [this.describeSnapshot('instance', str(params, 'DbSnapshotIdentifier'))] };
      case 'describeDBClusterSnapshots':
        return { DbClusterSnapshots: [this.describeSnapshot('cluster', str(params, 'DbClusterSnapshotIdentifier'))] };
      case 'describeDBInstances':
        return { DbInstances: [this.describeInstance(str(params, 'DbInstanceIdentifier'))] };
      case 'describeDBClusters':
        return { DbClusters: [this.describeCluster(str(params, 'DbClusterIdentifier'))] };
      case 'restoreDBInstanceToPointInTime':
        return { DbInstance: await this.restore('instance', params) };
      case 'restoreDBClusterToPointInTime':
        return { DbCluster: await this.restore('cluster', params) };
      case 'createDBInstance':
        return { DbInstance: this.createClusterInstance(params) };
      default:
        throw new SimulatedServiceError('Rds.RdsException', `the local RDS simulation does not implement ${action}`);
    }
  }

  private async createSnapshot(kind: DatabaseKind, source: string, identifier: string): Promise<Record<string, unknown>> {
    this.calls.push(`create-snapshot ${identifier}`);
    this.requireSource(kind, source);
    if (!RDS_NAME_RULE.test(identifier) || identifier.endsWith('-')) {
      throw new SimulatedServiceError('Rds.InvalidParameterValueException', `invalid snapshot identifier ${identifier}`);
    }
    if (this.snapshots.has(identifier)) {
      const name = kind === 'cluster' ? 'Rds.DbClusterSnapshotAlreadyExistsException' : 'Rds.DbSnapshotAlreadyExistsException';
      throw new SimulatedServiceError(name, `Cannot create the snapshot because a snapshot with the identifier ${identifier} already exists.`);
    }
    const database = RdsSimulation.databaseNameFor(identifier);
    await this.copyDatabase(this.options.sourceDatabase, database);
    const resource: Resource = { identifier, database, polls: 0, finalStatus: this.options.failSnapshots ? 'failed' : 'available', createdAt: new Date() };
    this.snapshots.set(identifier, resource);
    this.recoveryPoints.push({ database, at: resource.createdAt });
    return { Status: 'creating', [kind === 'cluster' ? 'DbClusterSnapshotIdentifier' : 'DbSnapshotIdentifier']: identifier };
  }

  /** A snapshot that exists before the execution (idempotency: a re-driven execution). */
  async preexistingSnapshot(identifier: string): Promise<void> {
    await this.createSnapshot(this.options.kind, this.options.identifier, identifier);
    this.snapshots.get(identifier)!.polls = this.polls;
  }

  private describeSnapshot(kind: DatabaseKind, identifier: string): Record<string, unknown> {
    this.calls.push(`describe-snapshot ${identifier}`);
    const snapshot = this.snapshots.get(identifier);
    if (!snapshot) {
      throw new SimulatedServiceError(kind === 'cluster' ? 'Rds.DbClusterSnapshotNotFoundException' : 'Rds.DbSnapshotNotFoundException', `snapshot ${identifier} not found`);
    }
    const status = advance(snapshot, this.polls);
    return kind === 'cluster'
      ? { DbClusterSnapshotIdentifier: identifier, DbClusterIdentifier: this.options.identifier, Status: status }
      : { DbSnapshotIdentifier: identifier, DbInstanceIdentifier: this.options.identifier, Status: status };
  }

  private describeInstance(identifier: string): Record<string, unknown> {
    this.calls.push(`describe-instance ${identifier}`);
    if (this.options.kind === 'instance' && identifier === this.options.identifier) {
      return {
        DbInstanceIdentifier: identifier,
        DbInstanceStatus: 'available',
        DbSubnetGroup: { DbSubnetGroupName: 'local-subnets' },
        VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0local000000000001', Status: 'active' }],
        DbParameterGroups: [{ DbParameterGroupName: 'local-postgres', ParameterApplyStatus: 'in-sync' }],
      };
    }
    const instance = this.instances.get(identifier);
    if (!instance) throw new SimulatedServiceError('Rds.DbInstanceNotFoundException', `DBInstance ${identifier} not found.`);
    const status = advance(instance, this.polls);
    const url = new URL(this.databaseUrl(instance.database));
    return {
      DbInstanceIdentifier: identifier,
      DbInstanceStatus: status,
      ...(instance.cluster ? { DbClusterIdentifier: instance.cluster } : {}),
      ...(status === 'available' ? { Endpoint: { Address: url.hostname, Port: Number(url.port || 5432) }, DbName: instance.database } : {}),
    };
  }

  private describeCluster(identifier: string): Record<string, unknown> {
    this.calls.push(`describe-cluster ${identifier}`);
    if (this.options.kind === 'cluster' && identifier === this.options.identifier) {
      return {
        DbClusterIdentifier: identifier,
        Status: 'available',
        DbSubnetGroup: 'local-subnets',
        VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0local000000000001', Status: 'active' }],
        DbClusterParameterGroup: 'local-aurora-postgresql',
      };
    }
    const cluster = this.clusters.get(identifier);
    if (!cluster) throw new SimulatedServiceError('Rds.DbClusterNotFoundException', `DBCluster ${identifier} not found.`);
    const status = advance(cluster, this.polls);
    const url = new URL(this.databaseUrl(cluster.database));
    return { DbClusterIdentifier: identifier, Status: status, ...(status === 'available' ? { Endpoint: url.hostname, Port: Number(url.port || 5432) } : {}) };
  }

  private async restore(kind: DatabaseKind, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const source = str(params, kind === 'cluster' ? 'SourceDBClusterIdentifier' : 'SourceDBInstanceIdentifier');
    const target = str(params, kind === 'cluster' ? 'DbClusterIdentifier' : 'TargetDBInstanceIdentifier');
    this.calls.push(`restore ${target}`);
    this.requireSource(kind, source);
    if (target === this.options.identifier) throw new SimulatedServiceError('Rds.InvalidParameterValueException', 'the restore target must be a new identifier');
    const timeKey = kind === 'cluster' ? 'RestoreToTime' : 'RestoreTime';
    const hasTime = params[timeKey] !== undefined;
    const latest = params.UseLatestRestorableTime === true;
    if (hasTime === latest) {
      throw new SimulatedServiceError('Rds.InvalidParameterCombinationException', `exactly one of ${timeKey} and UseLatestRestorableTime is required`);
    }
    for (const required of ['DbSubnetGroupName', 'VpcSecurityGroupIds']) {
      if (params[required] === undefined) throw new SimulatedServiceError('Rds.InvalidParameterValueException', `${required} must be copied from the source`);
    }
    const existing = kind === 'cluster' ? this.clusters : this.instances;
    if (existing.has(target)) {
      throw new SimulatedServiceError(kind === 'cluster' ? 'Rds.DbClusterAlreadyExistsException' : 'Rds.DbInstanceAlreadyExistsException', `${target} already exists`);
    }
    const from = latest ? this.options.sourceDatabase : this.recoveryPointFor(new Date(str(params, timeKey)));
    const database = RdsSimulation.databaseNameFor(target);
    await this.copyDatabase(from, database);
    existing.set(target, { identifier: target, database, polls: 0, finalStatus: this.options.failRestoresWith ?? 'available', createdAt: new Date() });
    return { [kind === 'cluster' ? 'DbClusterIdentifier' : 'DbInstanceIdentifier']: target, Status: 'creating' };
  }

  private createClusterInstance(params: Record<string, unknown>): Record<string, unknown> {
    const identifier = str(params, 'DbInstanceIdentifier');
    const cluster = str(params, 'DbClusterIdentifier');
    this.calls.push(`create-instance ${identifier}`);
    const parent = this.clusters.get(cluster);
    if (!parent) throw new SimulatedServiceError('Rds.DbClusterNotFoundException', `DBCluster ${cluster} not found.`);
    if (str(params, 'Engine') !== 'aurora-postgresql') throw new SimulatedServiceError('Rds.InvalidParameterCombinationException', 'Engine must be aurora-postgresql');
    if (this.instances.has(identifier)) throw new SimulatedServiceError('Rds.DbInstanceAlreadyExistsException', `${identifier} already exists`);
    // An Aurora instance serves its cluster's storage: same local database.
    this.instances.set(identifier, { identifier, database: parent.database, polls: 0, finalStatus: 'available', createdAt: new Date(), cluster });
    return { DbInstanceIdentifier: identifier, DbInstanceStatus: 'creating' };
  }

  private recoveryPointFor(time: Date): string {
    if (Number.isNaN(time.getTime())) throw new SimulatedServiceError('Rds.InvalidParameterValueException', 'RestoreTime is not a timestamp');
    const sorted = [...this.recoveryPoints].sort((a, b) => a.at.getTime() - b.at.getTime());
    // Recovery points are taken before anything of an execution changes (its start, its snapshot):
    // the first one at or after T holds the state at T; else the newest before T.
    const point = sorted.find((p) => p.at.getTime() >= time.getTime()) ?? sorted.filter((p) => p.at.getTime() < time.getTime()).pop();
    if (!point) throw new SimulatedServiceError('Rds.PointInTimeRestoreNotEnabledException', 'no recovery point recorded (local simulation)');
    return point.database;
  }

  private requireSource(kind: DatabaseKind, source: string): void {
    if (kind !== this.options.kind || source !== this.options.identifier) {
      const name = kind === 'cluster' ? 'Rds.DbClusterNotFoundException' : 'Rds.DbInstanceNotFoundException';
      throw new SimulatedServiceError(name, `${kind} ${source} not found`);
    }
  }

  // ------------------------------------------------------------------ the handlers' SDK calls (preflight backup check)

  /** Answers an AWS SDK v3 RDS command sent by a handler (SDK casing). */
  sdkCommand(name: string, input: Record<string, unknown>): Record<string, unknown> {
    const hourAgo = new Date(Date.now() - 3_600_000);
    switch (name) {
      case 'DescribeDBInstancesCommand':
        if (this.options.kind === 'instance' && input.DBInstanceIdentifier === this.options.identifier) {
          return { DBInstances: [{ DBInstanceIdentifier: this.options.identifier, DBInstanceStatus: 'available', BackupRetentionPeriod: 7, LatestRestorableTime: new Date(Date.now() - 120_000), AllocatedStorage: 100 }] };
        }
        throw Object.assign(new Error(`DBInstance ${String(input.DBInstanceIdentifier)} not found`), { name: 'DBInstanceNotFoundFault' });
      case 'DescribeDBClustersCommand':
        if (this.options.kind === 'cluster' && input.DBClusterIdentifier === this.options.identifier) {
          return { DBClusters: [{ DBClusterIdentifier: this.options.identifier, Status: 'available', BackupRetentionPeriod: 7, LatestRestorableTime: new Date(Date.now() - 120_000) }] };
        }
        throw Object.assign(new Error(`DBCluster ${String(input.DBClusterIdentifier)} not found`), { name: 'DBClusterNotFoundFault' });
      case 'DescribeDBSnapshotsCommand':
        return { DBSnapshots: [{ DBSnapshotIdentifier: `rds:${this.options.identifier}-auto`, Status: 'available', SnapshotType: 'automated', SnapshotCreateTime: hourAgo }] };
      case 'DescribeDBClusterSnapshotsCommand':
        return { DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: `rds:${this.options.identifier}-auto`, Status: 'available', SnapshotType: 'automated', SnapshotCreateTime: hourAgo }] };
      default:
        throw new Error(`the local RDS simulation does not implement ${name}`);
    }
  }

  // ------------------------------------------------------------------ helpers

  private async copyDatabase(from: string, to: string): Promise<void> {
    // CREATE DATABASE ... TEMPLATE needs the template free of other sessions (the server itself
    // waits up to 5 s for them): the handlers close theirs at the end of each invocation, so one
    // retry covers a session still closing.
    await this.admin(async (client) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await client.query(`CREATE DATABASE ${quoteIdent(to)} TEMPLATE ${quoteIdent(from)}`);
          return;
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code !== '55006' || attempt >= 2) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    });
  }

  private async admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const url = new URL(this.options.adminUrl);
    url.pathname = '/postgres';
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }
}

function advance(resource: Resource, polls: number): string {
  resource.polls += 1;
  return resource.polls >= polls ? resource.finalStatus : 'creating';
}

function str(params: Record<string, unknown>, key: string): string {
  const value = params[key];
  if (typeof value !== 'string' || value.length === 0) throw new SimulatedServiceError('Rds.InvalidParameterValueException', `${key} is required`);
  return value;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
