/**
 * Per-environment settings read from `cdk.json` context (`-c env=<name>`).
 *
 * Everything is given by id or ARN so that `cdk synth` needs no AWS lookups and no credentials:
 * the VPC, its subnets and route tables, the security group that reaches the database, the
 * database identifier and the secret. The schema is strict so that a typo in cdk.json fails the
 * synth with the field named instead of silently falling back to a default.
 */
import { z } from 'zod';
import { SETTINGS } from '../lambdas/core/settings';

const ID_RULE = (prefix: string) => new RegExp(`^${prefix}-[0-9a-f]{8,17}$`);

const RDS_IDENTIFIER = /^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}$/;

export const environmentConfigSchema = z.strictObject({
  /** AWS account and region the stack is deployed to (explicit: no environment-agnostic stacks). */
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region, e.g. eu-west-1'),
  /** The application's VPC, by id, with the subnets the Lambdas run in. */
  vpc: z.strictObject({
    vpcId: z.string().regex(ID_RULE('vpc'), 'must be a VPC id (vpc-...)'),
    availabilityZones: z.array(z.string().min(1)).min(1),
    /** Private (or isolated) subnets, one per availability zone, in the same order. */
    subnetIds: z.array(z.string().regex(ID_RULE('subnet'), 'must be subnet ids (subnet-...)')).min(1),
    /** Route tables of those subnets, same order (optional; CDK only uses them for endpoints). */
    routeTableIds: z.array(z.string().regex(ID_RULE('rtb'), 'must be route table ids (rtb-...)')).optional(),
  }),
  /** Security group attached to the Lambdas, already allowed by the database's security group. */
  databaseSecurityGroupId: z.string().regex(ID_RULE('sg'), 'must be a security group id (sg-...)'),
  database: z.strictObject({
    /** `instance` (RDS for PostgreSQL) or `cluster` (Aurora PostgreSQL). */
    kind: z.enum(['instance', 'cluster']),
    identifier: z.string().regex(RDS_IDENTIFIER, 'must be an RDS identifier'),
    /** Secret with the RDS JSON (host, port, username, password, dbname), by full ARN. */
    secretArn: z.string().regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, 'must be a Secrets Manager secret ARN'),
    /** Customer managed KMS key of the secret, if it is not the AWS managed key. */
    secretKmsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:/, 'must be a KMS key ARN').optional(),
  }),
  /** Folder of Prisma migrations shipped into the Lambda bundles (relative to the repository). */
  migrationsDirectory: z.string().min(1),
  // Settings: schema, bounds and meaning from the settings table (lambdas/core/settings).
  lockTimeoutMs: SETTINGS.lockTimeoutMs.schema().optional(),
  statementTimeoutMs: SETTINGS.statementTimeoutMs.schema().optional(),
  snapshotPolicy: SETTINGS.snapshotPolicy.schema().optional(),
  approvalPolicy: SETTINGS.approvalPolicy.schema().optional(),
  alarmNames: SETTINGS.alarmNames.schema().optional(),
  healthUrl: SETTINGS.healthUrl.schema().optional(),
  onFailure: SETTINGS.onFailure.schema().optional(),
  notificationEmails: z.array(z.email()).optional(),
});

export type EnvironmentConfig = z.infer<typeof environmentConfigSchema>;

/** Reads and validates `environments.<name>` from the context object; errors name the field. */
export function parseEnvironmentConfig(environments: unknown, name: string | undefined): EnvironmentConfig {
  if (!name) throw new Error('Pass the environment to deploy: cdk synth -c env=<name> (see "environments" in cdk.json)');
  if (!environments || typeof environments !== 'object' || !(name in environments)) {
    const known = environments && typeof environments === 'object' ? Object.keys(environments).join(', ') : 'none';
    throw new Error(`Unknown environment "${name}" (cdk.json "environments" has: ${known})`);
  }
  const result = environmentConfigSchema.safeParse((environments as Record<string, unknown>)[name]);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `environments.${name}.${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid cdk.json context: ${issues.join('; ')}`);
  }
  return result.data;
}
