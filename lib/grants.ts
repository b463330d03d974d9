/**
 * The state machine's RDS rights: snapshot the source into `<snapshotPrefix>-*`, describe those,
 * restore the source into NEW `<restorePrefix>-*` resources (Aurora: the cluster and its instance).
 * Every wildcard is scoped to a prefix and acknowledged to cdk-nag with its reason.
 */
import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { RunnerSettings } from './migration-runner-props';

/** The database the runner migrates, resolved once by the construct. */
export interface ResolvedTarget {
  readonly kind: 'instance' | 'cluster';
  readonly identifier: string;
  readonly isCluster: boolean;
  readonly engine: string;
  /** Absolute path of the migrations folder shipped into the bundles. */
  readonly migrationsDirectory: string;
  readonly rdsArn: (resource: string, resourceName: string) => string;
  readonly sourceArn: string;
}

/** Grants `role` the snapshot and restore actions on this database and the prefixes only. */
export function grantSnapshotAndRestore(scope: Construct, role: iam.Role, target: ResolvedTarget, o: Pick<RunnerSettings, 'snapshotPrefix' | 'restorePrefix'>): void {
const { isCluster, sourceArn, rdsArn } = target;
  const snapshotArn = rdsArn(isCluster ? 'cluster-snapshot' : 'snapshot', `${o.snapshotPrefix}-*`);
  const restoredDbArn = rdsArn('db', `${o.restorePrefix}-*`);
  const restoredClusterArn = rdsArn('cluster', `${o.restorePrefix}-*`);
  const arnText = (resource: string, name: string) => `${arnPrefix(Stack.of(scope), 'rds')}${resource}:${name}`;
  const ack = (resource: string, name: string, reason: string) => acknowledge(role, `AwsSolutions-IAM5[Resource::${arnText(resource, name)}]`, reason);

  if (isCluster) {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'SnapshotCluster', actions: ['rds:CreateDBClusterSnapshot', 'rds:AddTagsToResource'], resources: [sourceArn, snapshotArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeSnapshots', actions: ['rds:DescribeDBClusterSnapshots'], resources: [sourceArn, snapshotArn] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RestoreCluster',
        actions: ['rds:RestoreDBClusterToPointInTime', 'rds:AddTagsToResource'],
        resources: [sourceArn, restoredClusterArn, rdsArn('subgrp', '*'), rdsArn('cluster-pg', '*'), rdsArn('og', '*')],
      }),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeClusters', actions: ['rds:DescribeDBClusters'], resources: [sourceArn, restoredClusterArn] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CreateRestoredInstance',
        actions: ['rds:CreateDBInstance', 'rds:AddTagsToResource'],
        resources: [restoredDbArn, restoredClusterArn, rdsArn('subgrp', '*'), rdsArn('pg', '*'), rdsArn('og', '*')],
      }),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeInstances', actions: ['rds:DescribeDBInstances'], resources: [restoredDbArn] }));
    ack('cluster-snapshot', `${o.snapshotPrefix}-*`, 'Snapshots are named <snapshotPrefix>-<hash of the execution name> at run time; scoped to that prefix.');
    ack('cluster', `${o.restorePrefix}-*`, 'Restores create a NEW cluster named <restorePrefix>-...; scoped to that prefix so the source cluster can never be the target.');
    ack('db', `${o.restorePrefix}-*`, 'The restored cluster gets a NEW instance named <restorePrefix>-...; scoped to that prefix.');
    ack('subgrp', '*', 'The restore copies the source cluster\'s DB subnet group, read at run time from DescribeDBClusters; RDS checks the group on restore.');
    ack('cluster-pg', '*', 'The restore copies the source cluster\'s parameter group, read at run time.');
    ack('pg', '*', 'CreateDBInstance in the restored cluster uses the default or copied DB parameter group, known only at run time.');
    ack('og', '*', 'RDS authorizes the option group of a restored/created resource; it is the source\'s, known only at run time.');
  } else {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'SnapshotInstance', actions: ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'], resources: [sourceArn, snapshotArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeSnapshots', actions: ['rds:DescribeDBSnapshots'], resources: [sourceArn, snapshotArn] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RestoreInstance',
        actions: ['rds:RestoreDBInstanceToPointInTime', 'rds:AddTagsToResource'],
        resources: [sourceArn, restoredDbArn, rdsArn('subgrp', '*'), rdsArn('pg', '*'), rdsArn('og', '*')],
      }),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeInstances', actions: ['rds:DescribeDBInstances'], resources: [sourceArn, restoredDbArn] }));
    ack('snapshot', `${o.snapshotPrefix}-*`, 'Snapshots are named <snapshotPrefix>-<hash of the execution name> at run time; scoped to that prefix.');
    ack('db', `${o.restorePrefix}-*`, 'Restores create a NEW instance named <restorePrefix>-...; scoped to that prefix so the source can never be the target.');
    ack('subgrp', '*', 'The restore copies the source instance\'s DB subnet group, read at run time from DescribeDBInstances.');
    ack('pg', '*', 'The restore copies the source instance\'s DB parameter group, read at run time.');
    ack('og', '*', 'RDS authorizes the option group of the restored instance; it is the source\'s, known only at run time.');
  }
}

/**
 * How cdk-nag writes the start of an ARN in a finding id: tokens as <AWS::Partition> etc., and
 * literals when they are known (a stack with an explicit environment and partition literals on).
 */
export function arnPrefix(stack: Stack, service: string): string {
  const text = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  return `arn:${text(stack.partition, 'Partition')}:${service}:${text(stack.region, 'Region')}:${text(stack.account, 'AccountId')}:`;
}


export function acknowledge(scope: Construct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
