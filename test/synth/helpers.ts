/**
 * Stacks for the synth tests. Bundling 4 functions is slow, so most tests synthesize with
 * bundling skipped (`aws:cdk:bundling-stacks: []`, the CLI's `--exclusively` mechanism) and one
 * test file bundles for real.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MigrationRunner, type MigrationRunnerProps } from '../../lib/migration-runner';

/** The feature flags of cdk.json: tests synthesize like `cdk synth` does. */
export const CDK_CONTEXT = Object.fromEntries(
  Object.entries((JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context).filter(([key]) => key.startsWith('@aws-cdk')),
);
export const FIXTURE_MIGRATIONS = path.join(__dirname, 'fixtures', 'migrations');
export const ENV = { account: '111122223333', region: 'eu-west-1' };
export const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:app-db-AbCdEf';

export interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly runner: MigrationRunner;
  /** Synthesized on first access, so a test may add to the stack before. */
  readonly template: Template;
}

/** A stack holding one MigrationRunner with the given props over the required ones. */
export function buildRunner(overrides: Partial<MigrationRunnerProps> = {}, options: { bundle?: boolean } = {}): Built {
  const app = new App({ context: { ...CDK_CONTEXT, ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) } });
  const stack = new Stack(app, 'Test', { env: ENV });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788'],
  });
  const runner = new MigrationRunner(stack, 'Runner', {
    vpc,
    securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'DbClients', 'sg-0a1b2c3d4e5f60718', { mutable: false })],
    database: { kind: 'instance', identifier: 'app-prod' },
    secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Secret', SECRET_ARN),
    migrationsDirectory: FIXTURE_MIGRATIONS,
    ...overrides,
  });
  let template: Template | undefined;
  return {
    app,
    stack,
    runner,
    get template() {
      template ??= Template.fromStack(stack);
      return template;
    },
  };
}

/** Unacknowledged AwsSolutions findings on the app, as "rule at path" lines. */
export function nagFindings(app: App): string[] {
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => `${violation.ruleName} at ${(resource as { constructPath?: string }).constructPath ?? resource.resourceLogicalId}`),
  );
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Sid?: string;
}

/** Every IAM statement of the template (inline policies of roles and AWS::IAM::Policy). */
export function statements(template: Template): { policy: string; statement: Statement }[] {
  const out: { policy: string; statement: Statement }[] = [];
  for (const [id, policy] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
    for (const statement of (policy.Properties.PolicyDocument.Statement as Statement[]) ?? []) out.push({ policy: id, statement });
  }
  for (const [id, role] of Object.entries(template.findResources('AWS::IAM::Role'))) {
    for (const inline of (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]) ?? []) {
      for (const statement of inline.PolicyDocument.Statement) out.push({ policy: id, statement });
    }
  }
  return out;
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** The role logical id that a function uses. */
export function roleOfFunction(template: Template, descriptionPart: string): string {
  const functions = template.findResources('AWS::Lambda::Function', { Properties: { Description: `migration-runner ${descriptionPart}` } });
  const [fn] = Object.values(functions);
  if (!fn) throw new Error(`no function "${descriptionPart}"`);
  return (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

/** Resources of the statements attached to a role, joined as text (tokens JSON-encoded). */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
