import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { createStartCommand } from '../../../bin/commands/start';
import { awsError, execArn, FakeClock, fakeDeps, HistoryBuilder, recordingIo, serveHistory, smArn } from './aws-fakes';

const sfn = mockClient(SFNClient);
const SM = 'migration-runner-staging';
const NAME = 'deploy-20240125T103000Z-a1b2c3';
const ARN = execArn(SM, NAME);
const ARGS = ['--env', 'staging', '--state-machine-arn', smArn(SM), '--watch'];

/** Alignment is cosmetic: compare with runs of spaces collapsed. */
const squash = (text: string) => text.replace(/ +/g, ' ');
/** Everything after the start banner (the blank line that opens the watch). */
const watched = (text: string) => squash(text.slice(text.indexOf('\n\n') + 2));

const verdicts = {
  action: 'deploy',
  nothingPending: false,
  pending: ['20240125103000_add_status', '20240125104000_index_status'],
  verdict: 'careful',
  verdicts: [
    { name: '20240125103000_add_status', verdict: 'safe', approved: false, backfill: true, rollback: true, findings: [] },
    {
      name: '20240125104000_index_status',
      verdict: 'careful',
      approved: false,
      backfill: false,
      rollback: false,
      findings: [{ rule: 'require-concurrent-index', severity: 'careful', line: 1, message: 'CREATE INDEX without CONCURRENTLY blocks writes' }],
    },
  ],
  needsApproval: false,
  approvedMissing: [],
};
const progress = (rowsDone: number, status: string, etaSeconds: number | null) => ({
  name: 'users_status',
  status,
  done: status === 'done',
  cursor: { id: rowsDone },
  rowsDone,
  rowsEstimate: 1_000_000,
  ratePerSec: 5000,
  etaSeconds,
  waitSeconds: 0,
});

/** A deploy with lint verdicts and two backfill batches, revealed over three polls. */
function successfulDeploy(): HistoryBuilder {
  return new HistoryBuilder()
    .add(0, 'ExecutionStarted', { executionStartedEventDetails: { input: '{"action":"deploy"}', roleArn: 'arn:aws:iam::123456789012:role/sfn' } })
    .entered(0.1, 'Task', 'Preflight')
    .lambdaSucceeded(1.3, verdicts)
    .exited(1.3, 'Task', 'Preflight')
    .entered(1.3, 'Choice', 'RouteByAction') // 5: end of poll 1
    .exited(1.3, 'Choice', 'RouteByAction')
    .entered(2, 'Task', 'BackfillBatch')
    .lambdaSucceeded(32, progress(250_000, 'running', 150))
    .exited(32, 'Task', 'BackfillBatch')
    .entered(33, 'Task', 'BackfillBatch') // 10: end of poll 2
    .lambdaSucceeded(63, progress(1_000_000, 'done', 0))
    .exited(63, 'Task', 'BackfillBatch')
    .add(64, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: '{"status":"deployed","applied":["20240125103000_add_status"]}' } });
}

beforeEach(() => {
  sfn.reset();
  sfn.on(StartExecutionCommand).resolves({ executionArn: ARN, startDate: new Date('2024-01-25T10:30:00Z') });
});

describe('start --watch', () => {
  it('prints transitions with durations, lint verdicts, backfill progress and the output; exit 0 on SUCCEEDED', async () => {
    // Prepare
    const requests = serveHistory(sfn, { [ARN]: { events: successfulDeploy().events, stages: [5, 10, 13] } });
    const clock = new FakeClock();
    const io = recordingIo();

    // Act
    const code = await createStartCommand(fakeDeps(clock)).run(ARGS, io);

    // Assess
    expect(code).toBe(0);
    expect(watched(io.out())).toBe(
      [
        '10:30:00 -> Preflight',
        '10:30:01 lint safe 20240125103000_add_status',
        '10:30:01 lint careful 20240125104000_index_status',
        '10:30:01 careful require-concurrent-index (line 1): CREATE INDEX without CONCURRENTLY blocks writes',
        '10:30:01 ok Preflight 1.2s',
        '10:30:01 ok RouteByAction 0.0s',
        '10:30:02 -> BackfillBatch',
        '10:30:32 backfill users_status: 250,000/1,000,000 rows (25.0%), 5,000 rows/s, ETA 2m30s',
        '10:30:32 ok BackfillBatch 30.0s',
        '10:30:33 -> BackfillBatch',
        '10:31:03 backfill users_status: 1,000,000/1,000,000 rows (100.0%), 5,000 rows/s, ETA 0.0s, done',
        '10:31:03 ok BackfillBatch 30.0s',
        '10:31:04 SUCCEEDED in 1m04s',
        '{',
        ' "status": "deployed",',
        ' "applied": [',
        ' "20240125103000_add_status"',
        ' ]',
        '}',
        '',
      ].join('\n'),
    );
    // Three polls two seconds apart; each read newest-first, paging until an event already seen.
    expect(clock.sleeps).toEqual([2000, 2000]);
    expect(requests.map((r) => [r.executionArn, r.reverseOrder, r.includeExecutionData])).toEqual(Array(6).fill([ARN, true, true]));
    expect(requests.map((r) => r.nextToken)).toEqual([undefined, 'token:3', undefined, 'token:3', undefined, 'token:3']);
  });

  it('draws one progress bar in place on a terminal', async () => {
    // Prepare
    serveHistory(sfn, { [ARN]: { events: successfulDeploy().events, stages: [13] } });
    const io = recordingIo({ isTty: true });

    // Act
    const code = await createStartCommand(fakeDeps(new FakeClock())).run(ARGS, io);

    // Assess
    expect(code).toBe(0);
    const out = io.out();
    expect(out).toContain('\r\x1b[2Kbackfill users_status [######------------------] 25.0% 250,000/1,000,000 rows 5,000 rows/s ETA 2m30s\n10:30:32  ok BackfillBatch');
    expect(out).toContain('\r\x1b[2Kbackfill users_status [########################] 100.0% 1,000,000/1,000,000 rows 5,000 rows/s ETA 0.0s, done\n');
  });

  it('prints the failing task with its error message (not the stack trace) and exits 1 on FAILED', async () => {
    // Prepare
    const message = 'P3018: A migration failed to apply. Migration name: 20240125103000_add_status. Database error code: 23502';
    const events = new HistoryBuilder()
      .add(0, 'ExecutionStarted', { executionStartedEventDetails: { input: '{}' } })
      .entered(1, 'Task', 'ApplyMigrations')
      .add(9, 'TaskFailed', {
        taskFailedEventDetails: {
          resourceType: 'lambda',
          resource: 'invoke',
          error: 'MigrationFailedError',
          cause: JSON.stringify({ errorType: 'MigrationFailedError', errorMessage: message, trace: ['MigrationFailedError: x', '    at apply (/var/task/index.js:1:1)'] }),
        },
      })
      .entered(9, 'Task', 'RecordFailure')
      .lambdaSucceeded(10, { recorded: true })
      .exited(10, 'Task', 'RecordFailure')
      .entered(10, 'Fail', 'DeployFailed')
      .add(10, 'ExecutionFailed', { executionFailedEventDetails: { error: 'MigrationFailedError', cause: message } }).events;
    serveHistory(sfn, { [ARN]: { events, stages: [2, 8] } });
    const io = recordingIo();

    // Act
    const code = await createStartCommand(fakeDeps(new FakeClock())).run(ARGS, io);

    // Assess
    expect(code).toBe(1);
    expect(watched(io.out())).toBe(
      [
        '10:30:01 -> ApplyMigrations',
        `10:30:09 FAILED ApplyMigrations: MigrationFailedError: ${message}`,
        '10:30:09 -> RecordFailure',
        '10:30:10 ok RecordFailure 1.0s',
        `10:30:10 FAILED in 10.0s: MigrationFailedError: ${message}`,
        '',
      ].join('\n'),
    );
    expect(io.out()).not.toContain('/var/task');
  });

  it.each([
    ['ExecutionTimedOut', 'executionTimedOutEventDetails', 'States.Timeout', 'TIMED_OUT'],
    ['ExecutionAborted', 'executionAbortedEventDetails', 'StoppedByOperator', 'ABORTED'],
  ] as const)('exits 1 on %s', async (type, details, error, status) => {
    // Prepare
    const events = new HistoryBuilder()
      .add(0, 'ExecutionStarted', { executionStartedEventDetails: { input: '{}' } })
      .add(5, type, { [details]: { error, cause: 'stopped from the migration-runner CLI by jane' } }).events;
    serveHistory(sfn, { [ARN]: { events, stages: [2] } });
    const io = recordingIo();

    // Act
    const code = await createStartCommand(fakeDeps(new FakeClock())).run(ARGS, io);

    // Assess
    expect(code).toBe(1);
    expect(watched(io.out())).toBe(`10:30:05 ${status} in 5.0s: ${error}: stopped from the migration-runner CLI by jane\n`);
  });

  it('keeps watching through a throttled poll', async () => {
    // Prepare
    const throttled = awsError('ThrottlingException', 'Rate exceeded', 400);
    const requests = serveHistory(sfn, { [ARN]: { events: successfulDeploy().events, stages: [13] } }, { failures: [throttled, throttled] });
    const clock = new FakeClock();

    // Act
    const code = await createStartCommand(fakeDeps(clock)).run(ARGS, recordingIo());

    // Assess
    expect(code).toBe(0);
    expect(clock.sleeps).toEqual([500, 1000]);
    expect(requests.length).toBeGreaterThan(2);
  });

  it('stops watching, not the execution, after --watch-timeout, exit 3', async () => {
    // Prepare
    const events = new HistoryBuilder()
      .add(0, 'ExecutionStarted', { executionStartedEventDetails: { input: '{}' } })
      .entered(1, 'Task', 'BackfillBatch').events;
    serveHistory(sfn, { [ARN]: { events, stages: [2] } });
    const clock = new FakeClock();
    const io = recordingIo();

    // Act
    const code = await createStartCommand(fakeDeps(clock)).run([...ARGS, '--watch-timeout', '1'], io);

    // Assess
    expect(code).toBe(3);
    expect(clock.sleeps).toEqual(Array(30).fill(2000));
    expect(io.out()).toContain(
      `stopped watching after 1m00s: ${NAME} is still running and goes on without this watch\n` +
        `follow it again with: migration-runner executions --env staging --watch ${NAME}\n`,
    );
  });

  it('follows a backfill that continued as a new execution (startExecution.sync:2), then the parent to its end', async () => {
    // Prepare: the parent submits the child and waits; the child runs the last batch.
    const child = execArn(SM, '5f2b9c0d1e8a7b6c5d4e3f2a1b0c9d8e-c');
    const submitted = { ExecutionArn: child, StartDate: '2024-01-25T10:30:02Z' };
    const parent = new HistoryBuilder()
      .add(0, 'ExecutionStarted', { executionStartedEventDetails: { input: '{}' } })
      .entered(1, 'Task', 'ContinueAsNew')
      .add(1, 'TaskScheduled', { taskScheduledEventDetails: { resourceType: 'states', resource: 'startExecution.sync:2', region: 'eu-west-1', parameters: '{}' } })
      .add(2, 'TaskStarted', { taskStartedEventDetails: { resourceType: 'states', resource: 'startExecution.sync:2' } })
      .add(2, 'TaskSubmitted', { taskSubmittedEventDetails: { resourceType: 'states', resource: 'startExecution.sync:2', output: JSON.stringify(submitted) } })
      .add(9, 'TaskSucceeded', {
        taskSucceededEventDetails: {
          resourceType: 'states',
          resource: 'startExecution.sync:2',
          output: JSON.stringify({ ...submitted, Status: 'SUCCEEDED', Output: { outcome: 'succeeded' } }),
        },
      })
      .exited(9, 'Task', 'ContinueAsNew')
      .add(9, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: '{"outcome":"succeeded","continuedAs":"' + child + '"}' } }).events;
    const second = new HistoryBuilder(new Date('2024-01-25T10:30:02Z'))
      .add(0, 'ExecutionStarted', { executionStartedEventDetails: { input: '{}' } })
      .entered(1, 'Task', 'RunBackfillBatch')
      .lambdaSucceeded(4, progress(1_000_000, 'done', 0))
      .exited(4, 'Task', 'RunBackfillBatch')
      .add(6, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: '{"outcome":"succeeded"}' } }).events;
    serveHistory(sfn, { [ARN]: { events: parent, stages: [5, 8] }, [child]: { events: second, stages: [2, 5] } });
    const io = recordingIo();

    // Act
    const code = await createStartCommand(fakeDeps(new FakeClock())).run(ARGS, io);

    // Assess
    expect(code).toBe(0);
    expect(watched(io.out())).toBe(
      [
        '10:30:01 -> ContinueAsNew',
        'continued as 5f2b9c0d1e8a7b6c5d4e3f2a1b0c9d8e-c',
        '10:30:03 -> RunBackfillBatch',
        '10:30:06 backfill users_status: 1,000,000/1,000,000 rows (100.0%), 5,000 rows/s, ETA 0.0s, done',
        '10:30:06 ok RunBackfillBatch 3.0s',
        '10:30:08 SUCCEEDED in 6.0s',
        'back in deploy-20240125T103000Z-a1b2c3',
        '10:30:09 ok ContinueAsNew 8.0s',
        '10:30:09 SUCCEEDED in 9.0s',
        '{',
        ' "outcome": "succeeded",',
        ` "continuedAs": "${child}"`,
        '}',
        '',
      ].join('\n'),
    );
  });

  it('says the execution goes on when the watch loses access', async () => {
    // Prepare
    serveHistory(sfn, {}, { failures: [awsError('AccessDeniedException', 'not authorized to perform: states:GetExecutionHistory', 400)] });
    const io = recordingIo();

    // Act
    const run = createStartCommand(fakeDeps(new FakeClock())).run(ARGS, io);

    // Assess
    await expect(run).rejects.toThrow('GetExecutionHistory failed: AccessDeniedException: not authorized to perform: states:GetExecutionHistory');
    expect(io.err()).toBe(
      `the execution ${NAME} goes on without this watch: follow it with \`migration-runner executions --env staging --watch ${NAME}\` or the console\n`,
    );
  });
});
