/**
 * What the AWS commands need from the outside world, injectable so tests use aws-sdk-client-mock,
 * a fake clock and fixed ids instead of real time and randomness.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import { systemClock, type Clock } from '../../lambdas/core/ports';

export interface AwsCommandDeps {
  /** A Step Functions client; `region` undefined lets the SDK's chain decide (AWS_REGION, profile). */
  readonly sfn: (region: string | undefined) => SFNClient;
  /** Used to read the environment stack's StateMachineArn output when no machine has the conventional name. */
  readonly cloudFormation: (region: string | undefined) => CloudFormationClient;
  readonly clock: Clock;
  /** Between two GetExecutionHistory polls of --watch. */
  readonly pollIntervalMs: number;
  readonly readFile: (path: string) => string;
  readonly readStdin: () => Promise<string>;
  /** Suffix that makes a default execution name unique. */
  readonly newId: () => string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export const defaultAwsDeps: AwsCommandDeps = {
  sfn: (region) => new SFNClient(region ? { region } : {}),
  cloudFormation: (region) => new CloudFormationClient(region ? { region } : {}),
  clock: systemClock,
  pollIntervalMs: 2000,
  readFile: (path) => readFileSync(path, 'utf8'),
  readStdin,
  newId: () => randomBytes(3).toString('hex'),
};

/** --region, else AWS_REGION / AWS_DEFAULT_REGION of the command's environment, else the SDK's chain. */
export function regionFrom(flag: unknown, env: NodeJS.ProcessEnv): string | undefined {
  const region = (flag as string | undefined) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  return region || undefined;
}
