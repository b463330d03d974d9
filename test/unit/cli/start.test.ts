import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListStateMachinesCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../../bin/cli';
import { createStartCommand } from '../../../bin/commands/start';
import { awsError, execArn, FakeClock, fakeDeps, recordingIo, REGION, smArn } from './aws-fakes';

const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const PROD = smArn('migration-runner-production');

/**
 * Two pages of state machines, the environment's on the second: discovery must paginate. Returns
 * the nextToken of each request (copied: the SDK paginator reuses its input object).
 */
function serveStateMachines(): (string | undefined)[] {
  const tokens: (string | undefined)[] = [];
  sfn.on(ListStateMachinesCommand).callsFake((input: { nextToken?: string }) => {
    tokens.push(input.nextToken);
    if (input.nextToken === undefined) {
      return {
        stateMachines: [
          { name: 'orders-fulfilment', stateMachineArn: smArn('orders-fulfilment'), type: 'STANDARD', creationDate: new Date('2023-05-01T00:00:00Z') },
          { name: 'migration-runner-staging', stateMachineArn: smArn('migration-runner-staging'), type: 'STANDARD', creationDate: new Date('2023-06-01T00:00:00Z') },
        ],
        nextToken: 'page-2',
      };
    }
    if (input.nextToken === 'page-2') {
      return { stateMachines: [{ name: 'migration-runner-production', stateMachineArn: PROD, type: 'STANDARD', creationDate: new Date('2023-06-02T00:00:00Z') }] };
    }
    throw awsError('InvalidToken', `Invalid Token: '${input.nextToken}'`, 400);
  });
  return tokens;
}

function startReturns(name: string): void {
  sfn.on(StartExecutionCommand).resolves({ executionArn: execArn('migration-runner-production', name), startDate: new Date('2024-01-25T10:30:00.200Z') });
}

beforeEach(() => {
  sfn.reset();
  cfn.reset();
});

describe('start: the execution input sent', () => {
  it('finds the state machine across pages and sends the validated input, only the fields set', async () => {
    // Prepare
    const tokens = serveStateMachines();
    startReturns('deploy-20240125T103000Z-a1b2c3');
    const io = recordingIo();
    const command = createStartCommand(fakeDeps(new FakeClock()));

    // Act
    const code = await command.run(
      ['--env', 'production', '--approve', '20240125103000_drop_legacy_column', '--approve', '20240126090000_drop_orders_note', '--snapshot', 'always', '--lock-timeout', '5000'],
      io,
    );

    // Assess
    expect(code).toBe(0);
    expect(tokens).toEqual([undefined, 'page-2']);
    const starts = sfn.commandCalls(StartExecutionCommand);
    expect(starts).toHaveLength(1);
    expect(starts[0].args[0].input).toEqual({
      stateMachineArn: PROD,
      name: 'deploy-20240125T103000Z-a1b2c3',
      // Only what the operator set: the state machine merges the environment's defaults under it.
      input: JSON.stringify({
        action: 'deploy',
        approve: ['20240125103000_drop_legacy_column', '20240126090000_drop_orders_note'],
        snapshot: 'always',
        lockTimeoutMs: 5000,
      }),
    });
    const arn = execArn('migration-runner-production', 'deploy-20240125T103000Z-a1b2c3');
    expect(io.out()).toBe(
      [
        'started deploy on migration-runner-production: deploy-20240125T103000Z-a1b2c3',
        `  input:   ${starts[0].args[0].input.input}`,
        `  arn:     ${arn}`,
        `  console: https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}#/v2/executions/details/${arn}`,
        '',
      ].join('\n'),
    );
    expect(io.err()).toBe('');
  });

  it('merges an --input file with the flags, flags winning, and honours --name and --dry-run', async () => {
    // Prepare
    serveStateMachines();
    startReturns('plan-before-window');
    const file = JSON.stringify({ action: 'deploy', monitorMinutes: 30, approve: ['20240101000000_old'], lockTimeoutMs: 200 });
    const read: string[] = [];
    const deps = fakeDeps(new FakeClock(), { readFile: (path) => (read.push(path), file) });

    // Act
    const code = await createStartCommand(deps).run(
      ['--env', 'production', '--input', 'release/input.json', '--approve', '20240125103000_x', '--dry-run', '--name', 'plan-before-window'],
      recordingIo(),
    );

    // Assess
    expect(code).toBe(0);
    expect(read).toEqual(['release/input.json']);
    expect(sfn.commandCalls(StartExecutionCommand)[0].args[0].input).toEqual({
      stateMachineArn: PROD,
      name: 'plan-before-window',
      input: JSON.stringify({ action: 'deploy', monitorMinutes: 30, approve: ['20240125103000_x'], lockTimeoutMs: 200, dryRun: true }),
    });
  });

  it('reads the input from stdin with --input - (an action block only --input can carry)', async () => {
    // Prepare
    sfn.on(StartExecutionCommand).resolves({ executionArn: execArn('migration-runner-production', 'resolve-20240125T103000Z-a1b2c3'), startDate: new Date() });
    const stdin = '{"action":"resolve","resolve":{"migration":"20240125103000_add_status","as":"rolled-back"}}';
    const deps = fakeDeps(new FakeClock(), { readStdin: async () => stdin });

    // Act
    const code = await createStartCommand(deps).run(['--env', 'production', '--input', '-', '--state-machine-arn', PROD], recordingIo());

    // Assess
    expect(code).toBe(0);
    expect(sfn.commandCalls(ListStateMachinesCommand)).toHaveLength(0);
    const sent = sfn.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(sent.name).toBe('resolve-20240125T103000Z-a1b2c3');
    expect(sent.input).toBe(stdin);
  });

  it('uses --region over AWS_REGION', async () => {
    // Prepare
    const regions: (string | undefined)[] = [];
    const base = fakeDeps(new FakeClock());
    const deps = { ...base, sfn: (region: string | undefined) => (regions.push(region), base.sfn(region)) };
    startReturns('deploy-20240125T103000Z-a1b2c3');

    // Act
    await createStartCommand(deps).run(['--env', 'production', '--region', 'us-west-2', '--state-machine-arn', PROD], recordingIo());

    // Assess
    expect(regions).toEqual(['us-west-2']);
  });
});

describe('start: refusals before any AWS call', () => {
  it.each([
    [['--action', 'deploy'], '--env is required'],
    [['--env', 'prod uction'], '--env must be'],
    [['--env', 'production', '--lock-timeout', '50'], 'lockTimeoutMs: must be an integer between 100 and 60000'],
    [['--env', 'production', '--lock-timeout', '3s'], '--lock-timeout must be a whole number, got "3s"'],
    [['--env', 'production', '--snapshot', 'sometimes'], 'snapshot: must be one of "auto", "always", "never"'],
    [['--env', 'production', '--action', 'migrate'], 'action: must be one of'],
    [['--env', 'production', '--action', 'restore'], 'restore: required when action is "restore" (pass it with --input FILE|-'],
    [['--env', 'production', '--approve', '../etc/passwd'], 'approve[0]: must be a migration folder name'],
    [['--env', 'production', '--name', 'deploy now'], '--name must be 1-80 characters'],
    [['--env', 'production', '--state-machine-arn', 'migration-runner-production'], '--state-machine-arn must look like'],
    [['--env', 'production', '--input', 'missing.json'], '--input: cannot read "missing.json": ENOENT'],
    [['--env', 'production', '--watch', '--watch-timeout', '0'], '--watch-timeout must be an integer >= 1'],
    [['--env', 'production', '--bogus'], "Unknown option '--bogus'"],
  ])('%j -> exit 2, "%s"', async (argv, message) => {
    // Prepare
    const io = recordingIo();

    // Act: through the CLI entry point, which maps InputValidationError to exit code 2
    const code = await main(['start', ...argv], io);

    // Assess
    expect(code).toBe(2);
    expect(io.err()).toContain(message);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('refuses unknown fields in the --input file', async () => {
    const deps = fakeDeps(new FakeClock(), { readFile: () => '{"action":"deploy","aprove":["x"]}' });
    await expect(createStartCommand(deps).run(['--env', 'production', '--input', 'x.json'], recordingIo())).rejects.toThrow('unknown field "aprove"');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('refuses an input larger than Step Functions accepts (256 KiB)', async () => {
    const approve = Array.from({ length: 1100 }, (_, i) => `${String(20240101000000 + i)}_${'x'.repeat(225)}`);
    const deps = fakeDeps(new FakeClock(), { readFile: () => JSON.stringify({ action: 'deploy', approve }) });
    await expect(createStartCommand(deps).run(['--env', 'production', '--input', 'big.json'], recordingIo())).rejects.toThrow(
      /^the execution input is \d+ bytes; Step Functions accepts at most 262144$/,
    );
    expect(sfn.calls()).toHaveLength(0);
  });

  it('refuses an --input that is not JSON', async () => {
    const deps = fakeDeps(new FakeClock(), { readStdin: async () => 'action: deploy' });
    await expect(createStartCommand(deps).run(['--env', 'production', '--input', '-'], recordingIo())).rejects.toThrow('--input: not valid JSON');
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('start: AWS failures', () => {
  it('names the missing state machine and stack, the region and the machines that exist', async () => {
    // Prepare
    serveStateMachines();
    cfn.on(DescribeStacksCommand).rejects(awsError('ValidationError', 'Stack with id MigrationRunner-prod does not exist', 400));
    const command = createStartCommand(fakeDeps(new FakeClock()));

    // Act
    const run = command.run(['--env', 'prod'], recordingIo());

    // Assess
    await expect(run).rejects.toThrow(
      `no state machine named "migration-runner-prod" nor stack "MigrationRunner-prod" with a StateMachineArn output in ${REGION} ` +
        '(found: migration-runner-staging, migration-runner-production). Deploy the stack (cdk deploy -c env=prod), check --region, or pass --state-machine-arn',
    );
    expect(cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input)).toEqual([{ StackName: 'MigrationRunner-prod' }]);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('falls back to the StateMachineArn output of the MigrationRunner-ENV stack when no machine has the conventional name', async () => {
    // Prepare: the construct generated the state machine's name
    const generated = smArn('MigrationRunnerqa-Runner-StateMachine2E01A3A5-Xk9pQ2rT7vBn');
    serveStateMachines();
    cfn.on(DescribeStacksCommand, { StackName: 'MigrationRunner-qa' }).resolves({
      Stacks: [
        {
          StackName: 'MigrationRunner-qa',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date('2023-06-01T00:00:00Z'),
          Outputs: [
            { OutputKey: 'NotificationTopicArn', OutputValue: `arn:aws:sns:${REGION}:123456789012:migration-runner-qa` },
            { OutputKey: 'StateMachineArn', OutputValue: generated },
          ],
        },
      ],
    });
    startReturns('deploy-20240125T103000Z-a1b2c3');

    // Act
    const code = await createStartCommand(fakeDeps(new FakeClock())).run(['--env', 'qa'], recordingIo());

    // Assess
    expect(code).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.stateMachineArn).toBe(generated);
  });

  it('does not hide a CloudFormation permission error behind "not found"', async () => {
    serveStateMachines();
    cfn.on(DescribeStacksCommand).rejects(awsError('AccessDenied', 'User is not authorized to perform: cloudformation:DescribeStacks', 403));
    const run = createStartCommand(fakeDeps(new FakeClock())).run(['--env', 'qa'], recordingIo());
    await expect(run).rejects.toThrow('DescribeStacks failed: AccessDenied: User is not authorized to perform: cloudformation:DescribeStacks');
  });

  it('retries a throttled StartExecution with the same name and input (idempotent in Step Functions)', async () => {
    // Prepare
    serveStateMachines();
    sfn
      .on(StartExecutionCommand)
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded', 400))
      .resolves({ executionArn: execArn('migration-runner-production', 'deploy-20240125T103000Z-a1b2c3'), startDate: new Date() });
    const clock = new FakeClock();

    // Act
    const code = await createStartCommand(fakeDeps(clock)).run(['--env', 'production'], recordingIo());

    // Assess
    expect(code).toBe(0);
    const starts = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(starts).toHaveLength(2);
    expect(starts[0].input).toBe('{"action":"deploy"}');
    expect(starts[1]).toEqual(starts[0]);
    expect(clock.sleeps).toEqual([500]);
  });

  it('gives up on throttling after four attempts and names the call', async () => {
    // Prepare
    serveStateMachines();
    sfn.on(StartExecutionCommand).rejects(awsError('ThrottlingException', 'Rate exceeded', 400));
    const clock = new FakeClock();

    // Act
    const run = createStartCommand(fakeDeps(clock)).run(['--env', 'production'], recordingIo());

    // Assess
    await expect(run).rejects.toThrow('StartExecution failed: ThrottlingException: Rate exceeded');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(4);
    expect(clock.sleeps).toEqual([500, 1000, 2000]);
  });

  it('does not retry a client error such as ExecutionAlreadyExists', async () => {
    // Prepare
    serveStateMachines();
    sfn.on(StartExecutionCommand).rejects(awsError('ExecutionAlreadyExists', 'Execution Already Exists: deploy-1', 400));

    // Act
    const run = createStartCommand(fakeDeps(new FakeClock())).run(['--env', 'production', '--name', 'deploy-1'], recordingIo());

    // Assess
    await expect(run).rejects.toThrow('StartExecution failed: ExecutionAlreadyExists: Execution Already Exists: deploy-1');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });
});
