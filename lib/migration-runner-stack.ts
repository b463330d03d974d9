/**
 * One stack per environment (`cdk deploy -c env=production`): imports the environment's VPC,
 * subnets, security group and secret by id (no lookups, so synth works offline) and creates a
 * MigrationRunner for its database.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from './config';
import { MigrationRunner } from './migration-runner';

export interface MigrationRunnerStackProps extends StackProps {
  /** Name of the environment in cdk.json ("staging", "production", ...). */
  readonly environmentName: string;
  /** The validated `environments.<name>` block of cdk.json. */
  readonly config: EnvironmentConfig;
}

export class MigrationRunnerStack extends Stack {
  readonly runner: MigrationRunner;

  constructor(scope: Construct, id: string, props: MigrationRunnerStackProps) {
    super(scope, id, {
      ...props,
      env: { account: props.config.account, region: props.config.region },
      description: `migration-runner for ${props.environmentName}: Prisma migrations through Step Functions`,
    });
    const { config } = props;
    if (config.vpc.subnetIds.length !== config.vpc.availabilityZones.length) {
      throw new Error(`environments.${props.environmentName}.vpc: subnetIds and availabilityZones must have the same length (one subnet per zone)`);
    }

    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: config.vpc.vpcId,
      availabilityZones: config.vpc.availabilityZones,
      privateSubnetIds: config.vpc.subnetIds,
      privateSubnetRouteTableIds: config.vpc.routeTableIds,
    });
    const subnets = config.vpc.subnetIds.map((subnetId, index) =>
      ec2.Subnet.fromSubnetAttributes(this, `Subnet${index}`, {
        subnetId,
        availabilityZone: config.vpc.availabilityZones[index],
        routeTableId: config.vpc.routeTableIds?.[index],
      }),
    );
    const securityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'DatabaseClientSecurityGroup', config.databaseSecurityGroupId, {
      mutable: false,
    });
    const encryptionKey = config.database.secretKmsKeyArn ? kms.Key.fromKeyArn(this, 'SecretKey', config.database.secretKmsKeyArn) : undefined;
    const secret = secretsmanager.Secret.fromSecretAttributes(this, 'DatabaseSecret', {
      secretCompleteArn: config.database.secretArn,
      encryptionKey,
    });
    const alarms = (config.alarmNames ?? []).map((name, index) =>
      cloudwatch.Alarm.fromAlarmName(this, `WatchedAlarm${index}`, name),
    );

    this.runner = new MigrationRunner(this, 'MigrationRunner', {
      vpc,
      vpcSubnets: { subnets },
      securityGroups: [securityGroup],
      database: { kind: config.database.kind, identifier: config.database.identifier },
      secret,
      migrationsDirectory: config.migrationsDirectory,
      lockTimeout: config.lockTimeoutMs === undefined ? undefined : Duration.millis(config.lockTimeoutMs),
      statementTimeout: config.statementTimeoutMs === undefined ? undefined : Duration.millis(config.statementTimeoutMs),
      snapshotPolicy: config.snapshotPolicy,
      approvalPolicy: config.approvalPolicy,
      alarms,
      healthUrl: config.healthUrl,
      notificationEmails: config.notificationEmails,
      onFailure: config.onFailure,
      // the operator CLI (`start --env ENV`) finds the machine by this name
      stateMachineName: `migration-runner-${props.environmentName}`,
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.runner.stateMachine.stateMachineArn, description: 'Start executions here (console, CLI `start`, CodePipeline)' });
    new CfnOutput(this, 'NotificationTopicArn', { value: this.runner.notificationTopic.topicArn });
  }
}
