/**
 * `executions`: the recent executions of an environment's state machine, newest first.
 */
import { paginateListExecutions, type ExecutionListItem, type ExecutionStatus } from '@aws-sdk/client-sfn';
import { InputValidationError } from '../../lambdas/core/errors';
import { defaultAwsDeps, regionFrom, type AwsCommandDeps } from '../aws/deps';
import { arnName, awsCall, findStateMachineArn, resolveExecutionArn, validateEnv } from '../aws/sfn';
import { exitCodeFor, formatDuration, watchExecution } from '../aws/watch';
import { intFlag, parseFlags, type Command, type Io } from './command';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'] as const;

const HELP = `Usage: migration-runner executions --env ENV [--limit N] [--status S] [--json]
       migration-runner executions --env ENV --watch NAME|ARN [--watch-timeout MIN]

Lists the most recent executions of migration-runner-ENV, newest first; with --watch, replays one
execution's history and follows it to its end like \`start --watch\` (exit 0 SUCCEEDED, 1 FAILED,
TIMED_OUT or ABORTED, 3 still running when --watch-timeout elapsed, default 180 minutes).

  --limit N             how many (1..1000, default 20)
  --status S            only ${STATUSES.join(', ')}
  --json                one JSON array instead of the table
  --region R            default: AWS_REGION, AWS_DEFAULT_REGION, then your profile
  --state-machine-arn A use this state machine instead of finding migration-runner-ENV
`;

const OPTIONS = {
  env: { type: 'string' },
  limit: { type: 'string' },
  status: { type: 'string' },
  json: { type: 'boolean' },
  watch: { type: 'string' },
  'watch-timeout': { type: 'string' },
  region: { type: 'string' },
  'state-machine-arn': { type: 'string' },
} as const;

function utc(date: Date | undefined): string {
  return date ? date.toISOString().replace('T', ' ').slice(0, 19) : '';
}

export function createExecutionsCommand(deps: AwsCommandDeps = defaultAwsDeps): Command {
  return {
    name: 'executions',
    summary: 'list recent executions of an environment on AWS (--watch NAME to follow one)',
    help: HELP,
    async run(argv: string[], io: Io): Promise<number> {
      const { values } = parseFlags(argv, OPTIONS);
      const env = validateEnv(values.env);
      const limit = intFlag(values.limit, 'limit', 20, 1);
      if (limit > 1000) throw new InputValidationError(`--limit must be at most 1000, got ${limit}`);
      const status = values.status?.toUpperCase();
      if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
        throw new InputValidationError(`--status must be one of ${STATUSES.join(', ')}, got "${values.status}"`);
      }

      const region = regionFrom(values.region, io.env);
      const client = deps.sfn(region);
      const retry = { clock: deps.clock };
      if (values.watch !== undefined) {
        const timeoutMinutes = intFlag(values['watch-timeout'], 'watch-timeout', 180, 1);
        const executionArn = await resolveExecutionArn(values.watch, env, client, {
          ...retry,
          override: values['state-machine-arn'],
          cloudFormation: deps.cloudFormation(region),
        });
        io.stdout(`watching ${arnName(executionArn)}\n\n`);
        const outcome = await watchExecution(executionArn, {
          client,
          io,
          clock: deps.clock,
          pollIntervalMs: deps.pollIntervalMs,
          timeoutMs: timeoutMinutes * 60_000,
        });
        return exitCodeFor(outcome.status);
      }
      const stateMachineArn = await findStateMachineArn(client, env, {
        ...retry,
        override: values['state-machine-arn'],
        cloudFormation: deps.cloudFormation(region),
      });
      const items = await awsCall(
        'ListExecutions',
        async () => {
          const found: ExecutionListItem[] = [];
          const pages = paginateListExecutions(
            { client, pageSize: Math.min(limit, 100) },
            { stateMachineArn, statusFilter: status as ExecutionStatus | undefined },
          );
          for await (const page of pages) {
            found.push(...(page.executions ?? []));
            if (found.length >= limit) break;
          }
          return found.slice(0, limit);
        },
        retry,
      );

      if (values.json) {
        const rows = items.map((e) => ({
          name: e.name,
          status: e.status,
          startDate: e.startDate?.toISOString() ?? null,
          stopDate: e.stopDate?.toISOString() ?? null,
          executionArn: e.executionArn,
        }));
        io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
        return 0;
      }
      if (items.length === 0) {
        io.stdout(`no ${status ? `${status} ` : ''}executions of ${stateMachineArn.split(':').at(-1)}\n`);
        return 0;
      }
      const now = deps.clock.now();
      const width = Math.max(4, ...items.map((e) => (e.name ?? '').length));
      io.stdout(`${'NAME'.padEnd(width)}  ${'STATUS'.padEnd(15)}  ${'STARTED (UTC)'.padEnd(19)}  DURATION\n`);
      for (const e of items) {
        const end = e.stopDate ?? now;
        const took = e.startDate ? formatDuration(end.getTime() - e.startDate.getTime()) + (e.stopDate ? '' : ' so far') : '';
        io.stdout(`${(e.name ?? '').padEnd(width)}  ${(e.status ?? '').padEnd(15)}  ${utc(e.startDate).padEnd(19)}  ${took}\n`);
      }
      return 0;
    },
  };
}

export const executionsCommand = createExecutionsCommand();
