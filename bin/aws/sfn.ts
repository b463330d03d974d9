/**
 * Step Functions plumbing shared by the `start`, `executions` and `stop` commands: finding an
 * environment's state machine, execution names and ARNs, and retrying throttled control-plane
 * calls. Nothing here prints; the commands decide what the operator sees.
 */
import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { paginateListStateMachines, type SFNClient } from '@aws-sdk/client-sfn';
import { InputValidationError } from '../../lambdas/core/errors';
import type { Clock } from '../../lambdas/core/ports';

/** The CDK stack names each environment's state machine this way (lib/migration-runner-stack.ts). */
export const STATE_MACHINE_PREFIX = 'migration-runner-';

export function stateMachineName(env: string): string {
  return `${STATE_MACHINE_PREFIX}${env}`;
}

/** bin/app.ts names each environment's stack this way; its `StateMachineArn` output is the fallback. */
export function stackName(env: string): string {
  return `MigrationRunner-${env}`;
}
export const STATE_MACHINE_OUTPUT = 'StateMachineArn';

/** Environment names from cdk.json context; the state machine name they make must stay <= 80 chars. */
export function validateEnv(env: unknown): string {
  if (typeof env !== 'string' || env === '') throw new InputValidationError('--env is required (for example --env production)');
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(env)) {
    throw new InputValidationError(`--env must be 1-63 letters, digits, "-" or "_" starting with a letter or digit, got "${env}"`);
  }
  return env;
}

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[^\s]{1,80}$/;

export function validateStateMachineArn(arn: string): string {
  if (!STATE_MACHINE_ARN.test(arn)) {
    throw new InputValidationError(`--state-machine-arn must look like arn:aws:states:REGION:ACCOUNT:stateMachine:NAME, got "${arn}"`);
  }
  return arn;
}

/** The region of a Step Functions ARN (its 4th field). */
export function arnRegion(arn: string): string {
  return arn.split(':')[3] ?? '';
}

/** The last field of an ARN: the state machine or execution name. */
export function arnName(arn: string): string {
  return arn.split(':').at(-1) ?? arn;
}

/**
 * Execution name rules of StartExecution: 1-80 characters, none of whitespace, brackets `< > { } [ ]`,
 * wildcards `? *`, the specials `" # % \ ^ | ~ ` $ & , ; : /`, or control characters. Checked here so
 * a typo fails before the call rather than with an AWS ValidationException.
 */
export function validateExecutionName(name: string, flag = '--name'): string {
  // eslint-disable-next-line no-control-regex
  if (name.length < 1 || name.length > 80 || /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw new InputValidationError(
      `${flag} must be 1-80 characters without spaces, brackets, wildcards or any of " # % \\ ^ | ~ \` $ & , ; : /, got "${name}"`,
    );
  }
  return name;
}

/** `<action>-<UTC time>-<id>`: sortable, says what it does, unique per start. */
export function defaultExecutionName(action: string, now: Date, id: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${action}-${stamp}-${id}`;
}

/**
 * The execution ARN for `--execution`: an ARN is checked to belong to this environment's state
 * machine (stopping another environment's run by a copy-paste slip must fail), a name is appended
 * to the state machine's ARN.
 */
export function executionArnFor(execution: string, stateMachineArn: string): string {
  const smName = arnName(stateMachineArn);
  if (execution.startsWith('arn:')) {
    if (!EXECUTION_ARN.test(execution)) throw new InputValidationError(`--execution is not an execution ARN: "${execution}"`);
    const parts = execution.split(':');
    if (parts[6] !== smName) {
      throw new InputValidationError(`--execution belongs to state machine "${parts[6]}", not "${smName}"`);
    }
    return execution;
  }
  validateExecutionName(execution, '--execution');
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${execution}`;
}

/**
 * `--execution NAME|ARN` of this environment as an ARN. An ARN under the conventional state machine
 * name needs no lookup; anything else is checked against the discovered state machine.
 */
export async function resolveExecutionArn(
  execution: string,
  env: string,
  client: SFNClient,
  options: RetryOptions & { override?: string; cloudFormation?: CloudFormationClient },
): Promise<string> {
  const parts = execution.split(':');
  if (execution.startsWith('arn:') && !options.override && parts[6] === stateMachineName(env)) {
    return executionArnFor(execution, `${parts.slice(0, 5).join(':')}:stateMachine:${stateMachineName(env)}`);
  }
  if (execution.startsWith('arn:') && !EXECUTION_ARN.test(execution)) throw new InputValidationError(`--execution is not an execution ARN: "${execution}"`);
  if (!execution.startsWith('arn:')) validateExecutionName(execution, '--execution');
  return executionArnFor(execution, await findStateMachineArn(client, env, options));
}

/** An AWS call failed for good; the message names the call and the AWS error, never credentials. */
export class AwsCallError extends Error {
  override readonly name = 'AwsCallError';
  constructor(
    readonly operation: string,
    readonly awsError: string,
    message: string,
  ) {
    super(`${operation} failed: ${awsError}: ${message}`);
  }
}

const RETRYABLE = new Set(['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'ServiceUnavailable', 'InternalServerError']);

function isRetryable(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode ?? 0;
  return RETRYABLE.has(e?.name ?? '') || Boolean(e?.$retryable) || status === 429 || status >= 500;
}

export interface RetryOptions {
  readonly clock: Clock;
  /** Attempts in all (the SDK retries too; this covers bursts it gives up on). */
  readonly attempts?: number;
  readonly baseDelayMs?: number;
}

/**
 * Runs one control-plane call, retrying throttling and 5xx with exponential backoff. Safe for the
 * calls we make: reads, StopExecution, and StartExecution with a fixed name (Step Functions treats
 * a repeat with the same name and input as the same execution).
 */
export async function awsCall<T>(operation: string, call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt < attempts && isRetryable(error)) {
        await options.clock.sleep(base * 2 ** (attempt - 1));
        continue;
      }
      const e = error as { name?: string; message?: string };
      throw new AwsCallError(operation, e?.name ?? 'Error', e?.message ?? String(error));
    }
  }
}

/**
 * The environment's state machine ARN: `override` when given (validated); else the one named
 * `migration-runner-<env>` among all pages of ListStateMachines; else the `StateMachineArn` output
 * of the environment's CloudFormation stack `MigrationRunner-<env>` (when the construct generated
 * the name).
 */
export async function findStateMachineArn(
  client: SFNClient,
  env: string,
  options: RetryOptions & { override?: string; cloudFormation?: CloudFormationClient },
): Promise<string> {
  if (options.override) return validateStateMachineArn(options.override);
  const wanted = stateMachineName(env);
  const others: string[] = [];
  const found = await awsCall(
    'ListStateMachines',
    async () => {
      for await (const page of paginateListStateMachines({ client, pageSize: 100 }, {})) {
        for (const machine of page.stateMachines ?? []) {
          if (machine.name === wanted && machine.stateMachineArn) return machine.stateMachineArn;
          if (machine.name?.startsWith(STATE_MACHINE_PREFIX)) others.push(machine.name);
        }
      }
      return undefined;
    },
    options,
  );
  if (found) return found;
  const fromStack = options.cloudFormation ? await stackOutputArn(options.cloudFormation, env, options) : undefined;
  if (fromStack) return fromStack;
  const region = await client.config.region();
  const hint = others.length > 0 ? ` (found: ${[...new Set(others)].join(', ')})` : '';
  throw new StateMachineNotFoundError(
    `no state machine named "${wanted}"${options.cloudFormation ? ` nor stack "${stackName(env)}" with a ${STATE_MACHINE_OUTPUT} output` : ''} in ${region}${hint}. ` +
      `Deploy the stack (cdk deploy -c env=${env}), check --region, or pass --state-machine-arn`,
  );
}

/** The stack's StateMachineArn output; undefined when the stack does not exist. */
async function stackOutputArn(cloudFormation: CloudFormationClient, env: string, retry: RetryOptions): Promise<string | undefined> {
  try {
    const described = await awsCall('DescribeStacks', () => cloudFormation.send(new DescribeStacksCommand({ StackName: stackName(env) })), retry);
    const output = described.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === STATE_MACHINE_OUTPUT)?.OutputValue;
    return output ? validateStateMachineArn(output) : undefined;
  } catch (error) {
    // CloudFormation says "Stack with id X does not exist" as a ValidationError: that is "not found".
    if (error instanceof AwsCallError && error.awsError === 'ValidationError' && /does not exist/.test(error.message)) return undefined;
    throw error;
  }
}

export class StateMachineNotFoundError extends Error {
  override readonly name = 'StateMachineNotFoundError';
}

/** Console link to an execution, for the operator who prefers the graph. */
export function consoleUrl(executionArn: string): string {
  const region = arnRegion(executionArn);
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}
