#!/usr/bin/env node
/**
 * CDK app: one MigrationRunnerStack for the environment named with `-c env=<name>`, read from the
 * "environments" context of cdk.json. cdk-nag AwsSolutions checks run on every synth.
 *
 *   npx cdk synth -c env=example --no-notices
 *   npx cdk deploy -c env=production
 */
import { App } from 'aws-cdk-lib';
import { parseEnvironmentConfig } from '../lib/config';
import { MigrationRunnerStack } from '../lib/migration-runner-stack';
import { addNagChecks } from '../lib/nag';

const app = new App();
const environmentName = app.node.tryGetContext('env') as string | undefined;
const config = parseEnvironmentConfig(app.node.tryGetContext('environments'), environmentName);
new MigrationRunnerStack(app, `MigrationRunner-${environmentName}`, { environmentName: environmentName!, config });
addNagChecks(app);
app.synth();
