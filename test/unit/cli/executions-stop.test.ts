import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StopExecutionCommand,
  type ExecutionListItem,
  type ListExecutionsCommandInput,
} from '@aws-sdk/client-sfn';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../../bin/cli';
import { createExecutionsCommand } from '../../../bin/commands/executions';
import { createStopCommand } from '../../../bin/commands/stop';
import { awsError, execArn, FakeClock, fakeDeps, HistoryBuilder, recordingIo, serveHistory, smArn } from './aws-fakes';

const sfn = mockClient(SFNClient);
// Never reach a real CloudFormation endpoint from a test, even through the default dependencies.
const cfn = mockClient(CloudFormationClient);
const SM = 'migration-runner-production';
const SM_ARN = smArn(SM);

function item(name: string, status: ExecutionListItem['status'], start: string, stop?: string): ExecutionListItem {
  return {
    executionArn: execArn(SM, name),
    stateMachineArn: SM_ARN,
    name,
    status,
    startDate: new Date(start),
    stopDate: stop ? new Date(stop) : undefined,
  };
}

/** ListExecutions newest first, two per page; records each request (copied: the paginator reuses its input). */
function serveExecutions(all: ExecutionListItem[]): ListExecutionsCommandInput[] {
  const requests: ListExecutionsCommandInput[] = [];
  sfn.on(ListExecutionsCommand).callsFake((input: ListExecutionsCommandInput) => {
    requests.push({ ...input });
    const matching = all.filter((e) => !input.statusFilter || e.status === input.statusFilter);
    const offset = input.nextToken ? Number(input.nextToken) : 0;
    const page = matching.slice(offset, offset + 2);
    return { executions: page, nextToken: offset + 2 < matching.length ? String(offset + 2) : undefined };
  });
  return requests;
}

const HISTORY = [
  item('deploy-20240125T103000Z-a1b2c3', 'RUNNING', '2024-01-25T10:30:00Z'),
  item('deploy-20240124T090000Z-0f0f0f', 'FAILED', '2024-01-24T09:00:00Z', '2024-01-24T09:00:42Z'),
  item('status-20240123T080000Z-123abc', 'SUCCEEDED', '2024-01-23T08:00:00Z', '2024-01-23T08:00:03.500Z'),
  item('deploy-20240122T080000Z-456def', 'SUCCEEDED', '2024-01-22T08:00:00Z', '2024-01-22T09:15:00Z'),
  item('deploy-20240121T080000Z-789abc', 'ABORTED', '2024-01-21T08:00:00Z', '2024-01-21T08:01:00Z'),
];

beforeEach(() => {
  sfn.reset();
  cfn.reset();
  sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [{ name: SM, stateMachineArn: SM_ARN, type: 'STANDARD', creationDate: new Date('2023-06-01Z') }] });
});

describe('executions', () => {
  it('prints the newest executions as a table, paging until --limit', async () => {
    // Prepare
    const requests = serveExecutions(HISTORY);
    const io = recordingIo();
    const clock = new FakeClock(new Date('2024-01-25T10:32:00Z'));

    // Act
    const code = await createExecutionsCommand(fakeDeps(clock)).run(['--env', 'production', '--limit', '3'], io);

    // Assess
    expect(code).toBe(0);
    expect(io.out().replace(/ +/g, ' ')).toBe(
      [
        'NAME STATUS STARTED (UTC) DURATION',
        'deploy-20240125T103000Z-a1b2c3 RUNNING 2024-01-25 10:30:00 2m00s so far',
        'deploy-20240124T090000Z-0f0f0f FAILED 2024-01-24 09:00:00 42.0s',
        'status-20240123T080000Z-123abc SUCCEEDED 2024-01-23 08:00:00 3.5s',
        '',
      ].join('\n'),
    );
    expect(requests).toEqual([
      { stateMachineArn: SM_ARN, maxResults: 3 },
      { stateMachineArn: SM_ARN, maxResults: 3, nextToken: '2' },
    ]);
  });

  it('filters by --status and prints JSON with --json', async () => {
    // Prepare
    const requests = serveExecutions(HISTORY);
    const io = recordingIo();

    // Act
    const code = await createExecutionsCommand(fakeDeps(new FakeClock())).run(['--env', 'production', '--status', 'succeeded', '--json'], io);

    // Assess
    expect(code).toBe(0);
    expect(requests[0].statusFilter).toBe('SUCCEEDED');
    expect(JSON.parse(io.out())).toEqual([
      {
        name: 'status-20240123T080000Z-123abc',
        status: 'SUCCEEDED',
        startDate: '2024-01-23T08:00:00.000Z',
        stopDate: '2024-01-23T08:00:03.500Z',
        executionArn: execArn(SM, 'status-20240123T080000Z-123abc'),
      },
      {
        name: 'deploy-20240122T080000Z-456def',
        status: 'SUCCEEDED',
        startDate: '2024-01-22T08:00:00.000Z',
        stopDate: '2024-01-22T09:15:00.000Z',
        executionArn: execArn(SM, 'deploy-20240122T080000Z-456def'),
      },
    ]);
  });

  it('says when there is nothing to list', async () => {
    serveExecutions([]);
    const io = recordingIo();
    expect(await createExecutionsCommand(fakeDeps(new FakeClock())).run(['--env', 'production', '--status', 'RUNNING'], io)).toBe(0);
    expect(io.out()).toBe('no RUNNING executions of migration-runner-production\n');
  });

  it.each([
    [['--env', 'production', '--limit', '0'], '--limit must be an integer >= 1'],
    [['--env', 'production', '--limit', '1001'], '--limit must be at most 1000'],
    [['--env', 'production', '--status', 'DONE'], '--status must be one of RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE'],
    [[], '--env is required'],
  ])('%j -> exit 2 before any AWS call', async (argv, message) => {
    const io = recordingIo();
    expect(await main(['executions', ...argv], io)).toBe(2);
    expect(io.err()).toContain(message);
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('executions --watch', () => {
  it('replays a finished execution found by name and exits with its status', async () => {
    // Prepare
    const name = 'deploy-20240124T090000Z-0f0f0f';
    const arn = execArn(SM, name);
    const events = new HistoryBuilder()
      .add(0, 'ExecutionStarted', { executionStartedEventDetails: { input: '{"action":"deploy"}' } })
      .entered(1, 'Task', 'RunPreflight')
      .add(3, 'TaskFailed', {
        taskFailedEventDetails: {
          resourceType: 'lambda',
          resource: 'invoke',
          error: 'DatabaseUnhealthyError',
          cause: JSON.stringify({ errorType: 'DatabaseUnhealthyError', errorMessage: '2 transactions open longer than 300 s', trace: [] }),
        },
      })
      .add(3, 'ExecutionFailed', { executionFailedEventDetails: { error: 'DatabaseUnhealthyError', cause: '2 transactions open longer than 300 s' } }).events;
    serveHistory(sfn, { [arn]: { events, stages: [4] } });
    const io = recordingIo();
    const clock = new FakeClock();

    // Act
    const code = await createExecutionsCommand(fakeDeps(clock)).run(['--env', 'production', '--watch', name], io);

    // Assess
    expect(code).toBe(1);
    expect(io.out().replace(/ +/g, ' ')).toBe(
      [
        `watching ${name}`,
        '',
        '10:30:01 -> RunPreflight',
        '10:30:03 FAILED RunPreflight: DatabaseUnhealthyError: 2 transactions open longer than 300 s',
        '10:30:03 FAILED in 3.0s: DatabaseUnhealthyError: 2 transactions open longer than 300 s',
        'next: nothing was applied: fix what preflight reported, or wait, and start again',
        '',
      ].join('\n'),
    );
    expect(clock.sleeps).toEqual([]);
  });
});

describe('stop', () => {
  const NAME = 'deploy-20240125T103000Z-a1b2c3';

  it('stops a running execution found by name, recording who stopped it', async () => {
    // Prepare
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: execArn(SM, NAME), stateMachineArn: SM_ARN, status: 'RUNNING', startDate: new Date('2024-01-25T10:30:00Z') });
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date('2024-01-25T10:41:00Z') });
    const io = recordingIo();

    // Act
    const code = await createStopCommand(fakeDeps(new FakeClock())).run(['--env', 'production', '--execution', NAME], io);

    // Assess
    expect(code).toBe(0);
    expect(sfn.commandCalls(DescribeExecutionCommand)[0].args[0].input).toEqual({ executionArn: execArn(SM, NAME) });
    expect(sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: execArn(SM, NAME), error: 'StoppedByOperator', cause: 'stopped from the migration-runner CLI by jane' },
    ]);
    expect(io.out()).toBe(
      `stopped ${NAME} at 2024-01-25T10:41:00.000Z (running since 2024-01-25T10:30:00.000Z)\n` +
        'a Lambda already running finishes on its own; check the database with the status action before the next deploy\n',
    );
  });

  it('takes an ARN without listing state machines, and a --cause', async () => {
    // Prepare
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING', startDate: new Date('2024-01-25T10:30:00Z') });
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date('2024-01-25T10:41:00Z') });

    // Act
    const code = await createStopCommand(fakeDeps(new FakeClock())).run(
      ['--env', 'production', '--execution', execArn(SM, NAME), '--cause', 'wrong release tag'],
      recordingIo(),
    );

    // Assess
    expect(code).toBe(0);
    expect(sfn.commandCalls(ListStateMachinesCommand)).toHaveLength(0);
    expect(sfn.commandCalls(StopExecutionCommand)[0].args[0].input).toEqual({
      executionArn: execArn(SM, NAME),
      error: 'StoppedByOperator',
      cause: 'wrong release tag',
    });
  });

  it('refuses an ARN of another environment before touching the execution', async () => {
    const io = recordingIo();
    const code = await main(['stop', '--env', 'production', '--execution', execArn('migration-runner-staging', NAME)], io);
    expect(code).toBe(2);
    expect(io.err()).toBe('error: --execution belongs to state machine "migration-runner-staging", not "migration-runner-production"\n');
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
    expect(sfn.commandCalls(StopExecutionCommand)).toHaveLength(0);
  });

  it('refuses a malformed execution name before any AWS call', async () => {
    const io = recordingIo();
    expect(await main(['stop', '--env', 'production', '--execution', 'deploy now'], io)).toBe(2);
    expect(io.err()).toContain('--execution must be 1-80 characters');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('does nothing to an execution that is not running, exit 1', async () => {
    // Prepare
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', startDate: new Date('2024-01-25T10:30:00Z') });
    const io = recordingIo();

    // Act
    const code = await createStopCommand(fakeDeps(new FakeClock())).run(['--env', 'production', '--execution', NAME], io);

    // Assess
    expect(code).toBe(1);
    expect(io.err()).toBe(`${NAME} is SUCCEEDED; nothing to stop\n`);
    expect(sfn.commandCalls(StopExecutionCommand)).toHaveLength(0);
  });

  it('reports an execution that does not exist', async () => {
    // Prepare
    sfn.on(DescribeExecutionCommand).rejects(awsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${execArn(SM, 'nope')}'`, 400));
    const io = recordingIo();

    // Act
    const code = await main(['stop', '--env', 'production', '--execution', 'nope', '--region', 'eu-west-1'], io);

    // Assess
    expect(code).toBe(1);
    expect(io.err()).toBe(`error: DescribeExecution failed: ExecutionDoesNotExist: Execution Does Not Exist: '${execArn(SM, 'nope')}'\n`);
    expect(sfn.commandCalls(StopExecutionCommand)).toHaveLength(0);
  });

  it('requires --execution', async () => {
    const io = recordingIo();
    expect(await main(['stop', '--env', 'production'], io)).toBe(2);
    expect(io.err()).toContain('--execution is required');
  });
});

describe('--help', () => {
  it.each([
    ['start', 'Usage: migration-runner start --env ENV'],
    ['executions', 'Usage: migration-runner executions --env ENV'],
    ['stop', 'Usage: migration-runner stop --env ENV --execution NAME|ARN'],
  ])('%s --help prints its usage and calls nothing', async (command, usage) => {
    const io = recordingIo();
    expect(await main([command, '--help'], io)).toBe(0);
    expect(io.out().startsWith(usage)).toBe(true);
    expect(sfn.calls()).toHaveLength(0);
  });
});
