/**
 * Test doubles for the AWS commands: a fake clock whose sleep advances time instantly, an Io that
 * records what was printed, a fake Step Functions history server behind aws-sdk-client-mock
 * (newest-first pages, nextToken, events revealed poll by poll like a running execution).
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  GetExecutionHistoryCommand,
  SFNClient,
  type GetExecutionHistoryCommandInput,
  type HistoryEvent,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type SFNClientResolvedConfig,
} from '@aws-sdk/client-sfn';
import type { AwsStub } from 'aws-sdk-client-mock';
import type { AwsCommandDeps } from '../../../bin/aws/deps';
import type { Io } from '../../../bin/commands/command';
import type { Clock } from '../../../lambdas/core/ports';

export type SfnMock = AwsStub<ServiceInputTypes, ServiceOutputTypes, SFNClientResolvedConfig>;

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';
export const smArn = (name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
export const execArn = (sm: string, name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${sm}:${name}`;

export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(private current = new Date('2024-01-25T10:30:00.000Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface RecordedIo extends Io {
  readonly out: () => string;
  readonly err: () => string;
}

export function recordingIo(options: { isTty?: boolean; env?: NodeJS.ProcessEnv } = {}): RecordedIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: options.env ?? { AWS_REGION: REGION, USER: 'jane' },
    isTty: options.isTty ?? false,
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

export function fakeDeps(clock: FakeClock, overrides: Partial<AwsCommandDeps> = {}): AwsCommandDeps {
  return {
    // Static credentials: the mock intercepts send(), nothing is signed or sent.
    sfn: (region) => new SFNClient({ region: region ?? 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' } }),
    cloudFormation: (region) =>
      new CloudFormationClient({ region: region ?? 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' } }),
    clock,
    pollIntervalMs: 2000,
    readFile: () => {
      throw new Error('ENOENT: no such file or directory');
    },
    readStdin: async () => '',
    newId: () => 'a1b2c3',
    ...overrides,
  };
}

/** Builds realistic history events with increasing ids and timestamps (seconds after start). */
export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  constructor(private readonly start = new Date('2024-01-25T10:30:00.000Z')) {}
  add(second: number, type: HistoryEvent['type'], details: Partial<HistoryEvent> = {}): this {
    const id = this.events.length + 1;
    this.events.push({ id, previousEventId: id - 1, type, timestamp: new Date(this.start.getTime() + second * 1000), ...details });
    return this;
  }
  entered(second: number, type: 'Task' | 'Choice' | 'Pass' | 'Wait' | 'Succeed' | 'Fail', name: string): this {
    return this.add(second, `${type}StateEntered` as HistoryEvent['type'], { stateEnteredEventDetails: { name, input: '{}' } });
  }
  exited(second: number, type: 'Task' | 'Choice' | 'Pass' | 'Wait' | 'Succeed', name: string): this {
    return this.add(second, `${type}StateExited` as HistoryEvent['type'], { stateExitedEventDetails: { name, output: '{}' } });
  }
  /** A lambda:invoke task result: Step Functions wraps the function's result in Payload. */
  lambdaSucceeded(second: number, payload: unknown): this {
    return this.add(second, 'TaskSucceeded', {
      taskSucceededEventDetails: {
        resourceType: 'lambda',
        resource: 'invoke',
        output: JSON.stringify({ ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 }),
      },
    });
  }
}

export interface ServedHistory {
  readonly events: HistoryEvent[];
  /** How many events exist at each poll (a poll starts with a request without nextToken); the last repeats. */
  readonly stages: number[];
}

/**
 * Serves GetExecutionHistory like Step Functions: pages of `pageSize` (fewer than maxResults, so
 * pagination happens), newest first when reverseOrder is set, events revealed poll by poll like a
 * running execution. `failures` are thrown first, one per request (throttling). Records requests.
 */
export function serveHistory(
  mock: SfnMock,
  histories: Record<string, ServedHistory>,
  options: { pageSize?: number; failures?: Error[] } = {},
): GetExecutionHistoryCommandInput[] {
  const requests: GetExecutionHistoryCommandInput[] = [];
  const polls = new Map<string, number>();
  const failures = [...(options.failures ?? [])];
  const pageSize = options.pageSize ?? 3;
  mock.on(GetExecutionHistoryCommand).callsFake((input: GetExecutionHistoryCommandInput) => {
    requests.push(input);
    const failure = failures.shift();
    if (failure) throw failure;
    const arn = input.executionArn ?? '';
    const history = histories[arn];
    if (!history) throw awsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`, 400);
    if (!input.nextToken) polls.set(arn, (polls.get(arn) ?? -1) + 1);
    const poll = polls.get(arn) ?? 0;
    const visible = history.events.slice(0, history.stages[Math.min(poll, history.stages.length - 1)]);
    const ordered = input.reverseOrder ? [...visible].reverse() : visible;
    const offset = input.nextToken ? Number(input.nextToken.split(':')[1]) : 0;
    const page = ordered.slice(offset, offset + Math.min(pageSize, input.maxResults ?? 1000));
    const next = offset + page.length < ordered.length ? `token:${offset + page.length}` : undefined;
    return { events: page, nextToken: next };
  });
  return requests;
}

export function awsError(name: string, message: string, status: number): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}
