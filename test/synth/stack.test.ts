/**
 * MigrationRunnerStack from the checked-in cdk.json "example" environment, bundled for real with
 * local esbuild (one synth for the whole file): offline, no lookups, migrations inside each bundle.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseEnvironmentConfig } from '../../lib/config';
import { MigrationRunnerStack } from '../../lib/migration-runner-stack';
import { CDK_CONTEXT, FIXTURE_MIGRATIONS, nagFindings } from './helpers';

const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { app: string; context: { environments: Record<string, unknown> } };
const example = parseEnvironmentConfig(cdkJson.context.environments, 'example');

describe('MigrationRunnerStack (example environment, real bundling)', () => {
  // The example points at examples/prisma/migrations; the bundle test uses the synth fixture so
  // it asserts on known files.
  const app = new App({ outdir: path.join(tmpdir(), `mr-synth-${process.pid}`), context: { ...CDK_CONTEXT, 'aws:cdk:enable-asset-metadata': true } });
  const stack = new MigrationRunnerStack(app, 'MigrationRunner-example', { environmentName: 'example', config: { ...example, migrationsDirectory: FIXTURE_MIGRATIONS } });
  const template = Template.fromStack(stack);
  const assembly = app.synth();
  afterAll(() => rmSync(app.outdir, { recursive: true, force: true }));

  it('imports the VPC, subnets, security group, secret and alarms by id (no lookups)', () => {
    expect(JSON.stringify(assembly.manifest.missing ?? [])).toBe('[]');
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: example.vpc.subnetIds, SecurityGroupIds: [example.databaseSecurityGroupId] },
      Environment: { Variables: { DB_SECRET_ARN: example.database.secretArn, DB_INSTANCE_IDENTIFIER: example.database.identifier, ALARM_NAMES: example.alarmNames!.join(',') } },
    });
    expect(stack.account).toBe(example.account);
    expect(stack.region).toBe(example.region);
  });

  it('names the state machine for the CLI and outputs its ARN', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'migration-runner-example' });
    template.hasOutput('StateMachineArn', {});
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(nagFindings(app)).toEqual([]);
  });

  it('bundles each handler with esbuild and copies the migrations into the bundle', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(4);
    for (const fn of functions) {
      const assetHash = (fn.Metadata as Record<string, string>)['aws:asset:path'];
      const dir = path.join(assembly.directory, assetHash);
      expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['index.js', 'migrations']));
      expect(existsSync(path.join(dir, 'migrations', '20240101000000_init', 'migration.sql'))).toBe(true);
      // the parsers ship as packages beside the bundle (each loads its own .wasm)
      for (const pkg of ['libpg-query/wasm/libpg-query.wasm', 'libpg-query-18/wasm/libpg-query.wasm', '@pgsql/types/package.json']) {
        expect(existsSync(path.join(dir, 'node_modules', pkg))).toBe(true);
      }
      expect(readFileSync(path.join(dir, 'index.js'), 'utf8')).not.toMatch(/require\("@aws-sdk\/client-rds"\)[\s\S]*class RDSClient/);
    }
  });

  it('each index.js loads with only the AWS SDK from outside (the runtime\'s), the parsers from beside it', () => {
    // NODE_PATH holds only @aws-sdk, as /var/runtime does on Lambda: anything else must be in the bundle
    const runtime = mkdtempSync(path.join(tmpdir(), 'mr-runtime-'));
    mkdirSync(path.join(runtime, 'node_modules'));
    symlinkSync(path.join(__dirname, '..', '..', 'node_modules', '@aws-sdk'), path.join(runtime, 'node_modules', '@aws-sdk'));
    try {
      for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
        const dir = path.join(assembly.directory, (fn.Metadata as Record<string, string>)['aws:asset:path']);
        const script = `const h = require(${JSON.stringify(path.join(dir, 'index.js'))}); if (typeof h.handler !== 'function') process.exit(3);
          const q = require(${JSON.stringify(path.join(dir, 'node_modules', 'libpg-query'))});
          q.loadModule().then(() => { q.parseSync('SELECT 1'); process.stdout.write('ok'); });`;
        const run = spawnSync(process.execPath, ['-e', script], { cwd: dir, env: { PATH: process.env.PATH, NODE_PATH: path.join(runtime, 'node_modules') }, encoding: 'utf8', timeout: 60_000 });
        expect({ status: run.status, stdout: run.stdout, stderr: run.stderr.slice(0, 500) }).toEqual({ status: 0, stdout: 'ok', stderr: '' });
      }
    } finally {
      rmSync(runtime, { recursive: true, force: true });
    }
  });
});

describe('parseEnvironmentConfig', () => {
  it('names the environment and the field in errors', () => {
    expect(() => parseEnvironmentConfig(cdkJson.context.environments, undefined)).toThrow(/-c env=<name>/);
    expect(() => parseEnvironmentConfig(cdkJson.context.environments, 'nope')).toThrow(/Unknown environment "nope".*example/);
    const broken = { example: { ...(cdkJson.context.environments.example as object), databaseSecurityGroupId: 'default' } };
    expect(() => parseEnvironmentConfig(broken, 'example')).toThrow(/environments\.example\.databaseSecurityGroupId/);
    const typo = { example: { ...(cdkJson.context.environments.example as object), onFaliure: 'restore' } };
    expect(() => parseEnvironmentConfig(typo, 'example')).toThrow(/onFaliure/);
  });
});
