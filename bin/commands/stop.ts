/**
 * `stop`: stops a running execution of an environment's state machine.
 */
import { DescribeExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { InputValidationError } from '../../lambdas/core/errors';
import { defaultAwsDeps, regionFrom, type AwsCommandDeps } from '../aws/deps';
import { arnName, awsCall, resolveExecutionArn, validateEnv } from '../aws/sfn';
import { parseFlags, type Command, type Io } from './command';

const HELP = `Usage: migration-runner stop --env ENV --execution NAME|ARN [--cause TEXT]

Stops a RUNNING execution of migration-runner-ENV (StopExecution, error "StoppedByOperator").

What stopping does NOT do: a Lambda already running is not interrupted. A migration statement in
flight completes or fails on its own, and the migration advisory lock is released when its session
ends. Check afterwards with \`migration-runner start --env ENV --action status --watch\`, and resolve
a migration left failed with the resolve action (docs/console.md).

  --execution NAME|ARN  the execution (an ARN must belong to migration-runner-ENV)
  --cause TEXT          why, recorded in the execution history (default names $USER)
  --region R            default: AWS_REGION, AWS_DEFAULT_REGION, then your profile
  --state-machine-arn A use this state machine instead of finding migration-runner-ENV

Exit codes: 0 stopped; 1 not running (nothing done) or an AWS error; 2 invalid input.
`;

const OPTIONS = {
  env: { type: 'string' },
  execution: { type: 'string' },
  cause: { type: 'string' },
  region: { type: 'string' },
  'state-machine-arn': { type: 'string' },
} as const;

export function createStopCommand(deps: AwsCommandDeps = defaultAwsDeps): Command {
  return {
    name: 'stop',
    summary: 'stop a running execution on AWS',
    help: HELP,
    async run(argv: string[], io: Io): Promise<number> {
      const { values } = parseFlags(argv, OPTIONS);
      const env = validateEnv(values.env);
      const execution = values.execution;
      if (!execution) throw new InputValidationError('--execution is required (a name from `migration-runner executions` or an ARN)');
      const cause = values.cause ?? `stopped from the migration-runner CLI by ${io.env.USER ?? 'an operator'}`;
      if (cause.length > 32768) throw new InputValidationError('--cause must be at most 32768 characters');

      const region = regionFrom(values.region, io.env);
      const client = deps.sfn(region);
      const retry = { clock: deps.clock };
      const override = values['state-machine-arn'];
      const executionArn = await resolveExecutionArn(execution, env, client, { ...retry, override, cloudFormation: deps.cloudFormation(region) });

      const described = await awsCall('DescribeExecution', () => client.send(new DescribeExecutionCommand({ executionArn })), retry);
      if (described.status !== 'RUNNING') {
        io.stderr(`${arnName(executionArn)} is ${described.status ?? 'not running'}; nothing to stop\n`);
        return 1;
      }
      const stopped = await awsCall(
        'StopExecution',
        () => client.send(new StopExecutionCommand({ executionArn, error: 'StoppedByOperator', cause })),
        retry,
      );
      io.stdout(`stopped ${arnName(executionArn)} at ${stopped.stopDate?.toISOString() ?? 'now'} (running since ${described.startDate?.toISOString() ?? '?'})\n`);
      io.stdout('a Lambda already running finishes on its own; check the database with the status action before the next deploy\n');
      return 0;
    },
  };
}

export const stopCommand = createStopCommand();
