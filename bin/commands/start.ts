/**
 * `start`: starts an execution of an environment's state machine on AWS, with the input built from
 * flags (and/or a file) and validated by the same schema as the state machine's, before any AWS
 * call. With --watch it follows the execution to its end and exits with its status.
 */
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { InputValidationError } from '../../lambdas/core/errors';
import { EXECUTION_ACTIONS, parseExecutionInput } from '../../lambdas/core/execution-input';
import { flagHelp, flagOptions, helpLine } from '../../lambdas/core/settings';
import { defaultAwsDeps, regionFrom, type AwsCommandDeps } from '../aws/deps';
import {
  arnName,
  awsCall,
  consoleUrl,
  defaultExecutionName,
  findStateMachineArn,
  stateMachineName,
  validateEnv,
  validateExecutionName,
} from '../aws/sfn';
import { exitCodeFor, watchExecution } from '../aws/watch';
import { intFlag, parseFlags, type Command, type Io } from './command';

/** Execution-input settings with a flag of their own (lambdas/core/settings). */
const INPUT_SETTINGS = ['snapshot', 'lockTimeoutMs', 'dryRun'] as const;

const HELP = `Usage: migration-runner start --env ENV [options]

Starts the environment's state machine (migration-runner-ENV) on AWS.

Input (validated before anything is sent; see docs/console.md for every action):
${helpLine('--action A', `${EXECUTION_ACTIONS.join(' | ')}; default deploy`)}
${helpLine('--approve NAME', 'approve a dangerous migration by folder name (repeatable)')}
${flagHelp(INPUT_SETTINGS, { defaults: { lockTimeoutMs: "the environment's" } })}
${helpLine('--input FILE|-', 'execution input as JSON from a file or stdin; the flags above override its fields (needed for resolve, restore, backfill, rollback, blockers terminate)')}
  Only the fields you set are sent: the state machine fills the rest with this environment's
  defaults (stack props such as lockTimeoutMs, monitorMinutes), then the documented ones.

Execution:
  --name NAME           execution name (default: ACTION-UTCTIME-RANDOM); while it runs, starting
                        the same name with the same input returns it instead of a second one
  --watch               follow the execution: states with durations, lint verdicts, backfill
                        progress, failures with their cause, the final output
  --watch-timeout MIN   stop watching (not the execution) after MIN minutes (default: 180)

AWS:
  --region R            default: AWS_REGION, AWS_DEFAULT_REGION, then your profile
  --state-machine-arn A use this state machine instead of finding migration-runner-ENV

Exit codes: 0 started (or SUCCEEDED with --watch); 1 FAILED, TIMED_OUT, ABORTED or an AWS error;
2 invalid input; 3 still running when --watch-timeout elapsed.

Examples:
  migration-runner start --env staging --watch
  migration-runner start --env production --approve 20240125103000_drop_legacy_column --watch
  echo '{"action":"resolve","resolve":{"migration":"20240125103000_x","as":"rolled-back"}}' \\
    | migration-runner start --env production --input -
`;

const OPTIONS = {
  env: { type: 'string' },
  action: { type: 'string' },
  approve: { type: 'string', multiple: true },
  ...flagOptions(...INPUT_SETTINGS),
  input: { type: 'string' },
  name: { type: 'string' },
  watch: { type: 'boolean' },
  'watch-timeout': { type: 'string' },
  region: { type: 'string' },
  'state-machine-arn': { type: 'string' },
} as const;

async function readInputFlag(source: string, deps: AwsCommandDeps): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = source === '-' ? await deps.readStdin() : deps.readFile(source);
  } catch (error) {
    throw new InputValidationError(`--input: cannot read "${source}": ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputValidationError(`--input: not valid JSON: ${(error as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InputValidationError('--input: must be a JSON object');
  return parsed as Record<string, unknown>;
}

function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new InputValidationError(`--${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

/** Action blocks have no flags of their own: point at --input when one is missing. */
function withInputHint<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InputValidationError && / required when action is /.test(error.message)) {
      throw new InputValidationError(`${error.message} (pass it with --input FILE|-; examples in docs/console.md)`);
    }
    throw error;
  }
}

export function createStartCommand(deps: AwsCommandDeps = defaultAwsDeps): Command {
  return {
    name: 'start',
    summary: 'start a state machine execution on AWS (--watch to follow it)',
    help: HELP,
    async run(argv: string[], io: Io): Promise<number> {
      const { values } = parseFlags(argv, OPTIONS);
      const env = validateEnv(values.env);

      // Build and validate everything before the first AWS call.
      const raw = values.input === undefined ? {} : await readInputFlag(values.input, deps);
      if (values.action !== undefined) raw.action = values.action;
      raw.action ??= 'deploy';
      if (values.approve !== undefined) raw.approve = values.approve;
      if (values.snapshot !== undefined) raw.snapshot = values.snapshot;
      if (values['lock-timeout'] !== undefined) raw.lockTimeoutMs = wholeNumber(values['lock-timeout'], 'lock-timeout');
      if (values['dry-run']) raw.dryRun = true;
      const input = withInputHint(() => parseExecutionInput(raw));
      // Only the fields the operator set are sent: the state machine merges this environment's
      // defaults (lockTimeoutMs, monitorMinutes from the stack) under them, and spelling out the
      // code's defaults here would silently override those.
      const body = JSON.stringify(raw);
      // Step Functions caps an execution input at 256 KiB; say so before any call rather than after.
      const bytes = Buffer.byteLength(body);
      if (bytes > 256 * 1024) throw new InputValidationError(`the execution input is ${bytes} bytes; Step Functions accepts at most 262144`);
      const watchTimeoutMinutes = intFlag(values['watch-timeout'], 'watch-timeout', 180, 1);
      const name = validateExecutionName(values.name ?? defaultExecutionName(input.action, deps.clock.now(), deps.newId()));

      const region = regionFrom(values.region, io.env);
      const client = deps.sfn(region);
      const retry = { clock: deps.clock };
      const stateMachineArn = await findStateMachineArn(client, env, {
        ...retry,
        override: values['state-machine-arn'],
        cloudFormation: deps.cloudFormation(region),
      });
      const started = await awsCall('StartExecution', () => client.send(new StartExecutionCommand({ stateMachineArn, name, input: body })), retry);
      const executionArn = started.executionArn ?? '';

      io.stdout(`started ${input.action} on ${arnName(stateMachineArn) || stateMachineName(env)}: ${name}\n`);
      io.stdout(`  input:   ${body}\n  arn:     ${executionArn}\n  console: ${consoleUrl(executionArn)}\n`);
      if (!values.watch) return 0;

      io.stdout('\n');
      try {
        const outcome = await watchExecution(executionArn, {
          client,
          io,
          clock: deps.clock,
          pollIntervalMs: deps.pollIntervalMs,
          timeoutMs: watchTimeoutMinutes * 60_000,
        });
        if (outcome.status === 'STILL_RUNNING') {
          io.stdout(`follow it again with: migration-runner executions --env ${env} --watch ${arnName(outcome.executionArn)}\n`);
        }
        return exitCodeFor(outcome.status);
      } catch (error) {
        // Losing the watch does not stop the execution: say so, so nobody starts a second one.
        io.stderr(`the execution ${name} goes on without this watch: follow it with \`migration-runner executions --env ${env} --watch ${name}\` or the console\n`);
        throw error;
      }
    },
  };
}

export const startCommand = createStartCommand();
