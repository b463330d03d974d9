#!/usr/bin/env node
/**
 * CDK app: one MigrationRunnerStack for the environment named with `-c env=<name>`, read from the
 * "environments" context of cdk.json. cdk-nag AwsSolutions checks run on every synth and any
 * unacknowledged finding fails it.
 *
 *   npx cdk synth -c env=example --no-notices     (through the CDK CLI)
 *   npm run synth -- -c env=example                (standalone: same synthesis into cdk.out)
 *
 * The standalone form exists because the CLI must understand the cloud assembly schema of
 * aws-cdk-lib; when the installed CLI is older than the library it refuses to read cdk.out even
 * though the synthesis (and the cdk-nag validation) succeeded.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { parseEnvironmentConfig } from '../lib/config';
import { MigrationRunnerStack } from '../lib/migration-runner-stack';
import { addNagChecks } from '../lib/nag';

/** Outside the CLI: cdk.json's context plus `-c key=value` arguments, like the CLI would pass. */
function standaloneContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const context: Record<string, unknown> = { ...cdkJson.context };
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const pair = args[i] === '-c' || args[i] === '--context' ? args[++i] : /^--context=/.test(args[i]) ? args[i].slice(10) : undefined;
    if (pair === undefined) throw new Error(`unknown argument ${args[i]} (use -c key=value)`);
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`-c expects key=value, got "${pair}"`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return context;
}

// The CLI runs the app with CDK_OUTDIR set and passes the context itself.
const underCli = process.env.CDK_OUTDIR !== undefined;
const app = underCli ? new App() : new App({ outdir: path.join(__dirname, '..', 'cdk.out'), context: standaloneContext() });
const environmentName = app.node.tryGetContext('env') as string | undefined;
const config = parseEnvironmentConfig(app.node.tryGetContext('environments'), environmentName);
new MigrationRunnerStack(app, `MigrationRunner-${environmentName}`, { environmentName: environmentName!, config });
addNagChecks(app);
const assembly = app.synth();
if (!underCli) {
  for (const stack of assembly.stacks) process.stdout.write(`synthesized ${stack.stackName} (${Object.keys(stack.template.Resources ?? {}).length} resources, cdk-nag clean) -> ${path.relative(process.cwd(), stack.templateFullPath)}\n`);
}
