/**
 * Runs `state-machines/migration.asl.json` offline with aws-local-stepfunctions: the real
 * definition, the real handler factories (local/handlers.ts, bundled like the Lambdas) invoked
 * in-process with a Lambda-like context and local ports, and local stand-ins for the AWS-only
 * steps (RDS snapshots and restores on the same PostgreSQL server, SNS collected, CloudWatch alarms
 * from a script). Shared by the state-machine tests and `rehearse`.
 *
 * Task states are mapped by their Resource, never by name, so a new state in the ASL needs no
 * change here unless it calls a new service.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { esbuildOptions, REPOSITORY_ROOT, type HandlerName } from '../lib/bundling';
import { environmentOf, given, settingDefaults, substitutionsOf } from '../lambdas/core/settings';
import { DEFINITION_SUBSTITUTION_KEYS, type DefinitionSubstitutionKey, readDefinitionText, substituteDefinition } from '../state-machines/definition';
import { CloudWatchSimulation, type ScriptedAlarms } from './cloudwatch-simulation';
import type { createLocalHandlers as CreateLocalHandlers, LocalHandler } from './handlers';
import { type DatabaseKind, RdsSimulation, SimulatedServiceError } from './rds-simulation';

export type { HandlerName, ScriptedAlarms };
/** The ASL placeholders the settings table maps settings to. */
type SettingPlaceholder = 'RestorePrefix' | 'RestoreInstanceClass' | 'OnFailure' | 'LockTimeoutMs' | 'MonitorMinutes' | 'MaxLoopIterations';
type RunOptions = NonNullable<Parameters<StateMachine['run']>[1]>;
type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
/** One execution event (aws-local-stepfunctions does not export the type by name). */
export type EventLog = { type: string; state?: { name: string; type: string; input?: unknown; output?: unknown }; index?: number; Error?: string; Cause?: unknown };

/**
 * The handlers run bundled with the Lambda bundling options (lib/bundling.ts): local/handlers.ts,
 * the same factories as the Lambda entries with local ports. The bundle goes under
 * node_modules/.cache so the external packages (the AWS SDK, the SQL parsers) resolve; one per process.
 */
const BUNDLE_ROOT = path.join(REPOSITORY_ROOT, 'node_modules', '.cache', 'mr-local-bundles');
const BUNDLE_DIR = path.join(BUNDLE_ROOT, String(process.pid));

/** Removes bundle folders of processes that are gone (a killed test worker never ran its exit hook). */
function sweepStaleBundles(): void {
  for (const entry of existsSync(BUNDLE_ROOT) ? readdirSync(BUNDLE_ROOT) : []) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as { code?: string }).code === 'ESRCH') rmSync(path.join(BUNDLE_ROOT, entry), { recursive: true, force: true });
    }
  }
}
let bundling: Promise<typeof CreateLocalHandlers> | undefined;
function localHandlersModule(): Promise<typeof CreateLocalHandlers> {
  bundling ??= (async () => {
    sweepStaleBundles();
    const outfile = path.join(BUNDLE_DIR, 'handlers', 'index.js');
    mkdirSync(path.dirname(outfile), { recursive: true });
    await build(esbuildOptions(path.join(REPOSITORY_ROOT, 'local', 'handlers.ts'), outfile));
    process.once('exit', () => rmSync(BUNDLE_DIR, { recursive: true, force: true }));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(outfile) as { createLocalHandlers: typeof CreateLocalHandlers }).createLocalHandlers;
  })();
  return bundling;
}

/** Lambda's default timeouts of the deployed functions (lib/migration-runner.ts FUNCTION_SETTINGS). */
const DEFAULT_FUNCTION_TIMEOUT_MS: Record<HandlerName, number> = { preflight: 300_000, apply: 900_000, backfill: 900_000, verify: 300_000 };

export interface LambdaLikeContext {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly awsRequestId: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
  done(): void;
  fail(): void;
  succeed(): void;
}


export interface LocalExecutorOptions {
  /** Admin URL of the PostgreSQL server (snapshots and restores are databases on it). */
  readonly adminUrl: string;
  /** The database to migrate, on that server. */
  readonly database: string;
  /** Prisma migrations folder. */
  readonly migrationsDir: string;
  /** @default 'instance' */
  readonly kind?: DatabaseKind;
  /** RDS identifier the simulation answers for. @default 'app-local' */
  readonly identifier?: string;
  /** @default 'notify' */
  readonly onFailure?: 'notify' | 'restore';
  /** @default 'auto' */
  readonly snapshotPolicy?: 'auto' | 'always' | 'never';
  /** @default '<identifier>-mr' */
  readonly snapshotPrefix?: string;
  /** @default '<identifier>-pitr' */
  readonly restorePrefix?: string;
  /** @default 3000 */
  readonly lockTimeoutMs?: number;
  /** Default monitoring minutes of the environment. @default 15 */
  readonly monitorMinutes?: number;
  /** Backfill batches per execution before continue-as-new. @default 900 */
  readonly maxLoopIterations?: number;
  readonly alarms?: ScriptedAlarms;
  /** Remaining time each handler sees at the start of an invocation. @default the deployed timeouts */
  readonly functionTimeoutsMs?: Partial<Record<HandlerName, number>>;
  /** Extra environment variables for the handlers (the settings table, lambdas/core/settings). */
  readonly environment?: Readonly<Record<string, string>>;
  /** Scripted RDS behaviour. */
  readonly rds?: { readonly pollsUntilAvailable?: number; readonly failSnapshots?: boolean; readonly failRestoresWith?: string };
  /** Wait states that really wait (SecondsPath honoured); every other Wait takes 0 ms. @default none */
  readonly realWaitStates?: readonly string[];
  /** Every execution event (for a live trace). */
  readonly onEvent?: (event: EventLog, executionName: string) => void;
}

export interface LocalExecutionResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** States entered, in order, across continuations. */
  readonly states: string[];
  /** Executions run: 1 + continuations. */
  readonly executions: number;
  /** Inputs every Lambda task received, in order. */
  readonly invocations: { readonly handler: HandlerName; readonly event: unknown }[];
}

export interface Notification {
  readonly subject: string;
  readonly message: string;
}

export class LocalExecutor {
  readonly rds: RdsSimulation;
  readonly notifications: Notification[] = [];
  readonly cloudWatch: CloudWatchSimulation;
  /** Checks of the alarms by the state machine's monitoring loop so far. */
  get alarmChecks(): number {
    return this.cloudWatch.alarmChecks;
  }
  private handlers?: Promise<Record<HandlerName, LocalHandler>>;
  private readonly substitutions: Record<DefinitionSubstitutionKey, string>;
  private readonly definition: Record<string, unknown>;
  private readonly identifier: string;

  constructor(private readonly options: LocalExecutorOptions) {
    this.identifier = options.identifier ?? 'app-local';
    const kind = options.kind ?? 'instance';
    this.cloudWatch = new CloudWatchSimulation(options.alarms);
    this.rds = new RdsSimulation({ adminUrl: options.adminUrl, sourceDatabase: options.database, kind, identifier: this.identifier, ...options.rds });
    this.substitutions = {
      PreflightFunctionArn: functionArn('preflight'),
      ApplyFunctionArn: functionArn('apply'),
      BackfillFunctionArn: functionArn('backfill'),
      VerifyFunctionArn: functionArn('verify'),
      NotificationTopicArn: 'arn:aws:sns:local:000000000000:migration-runner',
      DatabaseKind: kind,
      DatabaseIdentifier: this.identifier,
      DatabaseEngine: kind === 'cluster' ? 'aurora-postgresql' : 'postgres',
      // The environment's settings, as the construct passes them (defaults from the settings table).
      ...(substitutionsOf(this.settings()) as Record<SettingPlaceholder, string>),
    };
    for (const key of DEFINITION_SUBSTITUTION_KEYS) if (!this.substitutions[key]) throw new Error(`no local value for ${key}`);
    this.definition = substituteDefinition(readDefinitionText(), this.substitutions);
  }

  /** This environment's settings: the options given, the settings table's defaults for the rest. */
  private settings() {
    const o = this.options;
    return {
      ...settingDefaults({ databaseIdentifier: this.identifier }),
      ...given({
        restorePrefix: o.restorePrefix,
        onFailure: o.onFailure,
        lockTimeoutMs: o.lockTimeoutMs,
        monitorMinutes: o.monitorMinutes,
        maxLoopIterations: o.maxLoopIterations,
        snapshotPolicy: o.snapshotPolicy,
        snapshotPrefix: o.snapshotPrefix,
        alarmNames: o.alarms?.names,
      }),
    };
  }

  /** Prefix of the instances a restore may create (the environment's restorePrefix). */
  get restorePrefix(): string {
    return this.substitutions.RestorePrefix;
  }

  /** The environment the handlers see (what the CDK construct sets, with local connection settings). */
  handlerEnvironment(): Record<string, string> {
    const o = this.options;
    const settings = this.settings();
    const url = new URL(o.adminUrl);
    url.pathname = `/${o.database}`;
    return {
      DATABASE_URL: url.toString(),
      DB_TLS: 'disable',
      MIGRATIONS_DIR: o.migrationsDir,
      [this.rds.kind === 'cluster' ? 'DB_CLUSTER_IDENTIFIER' : 'DB_INSTANCE_IDENTIFIER']: this.identifier,
      ...environmentOf({ snapshotPolicy: settings.snapshotPolicy, snapshotPrefix: settings.snapshotPrefix, lockTimeoutMs: settings.lockTimeoutMs, alarmNames: settings.alarmNames }),
      ...o.environment,
    };
  }

  /** Runs one execution (and its continuations) to the end. */
  async run(input: unknown, executionName: string = `local-${randomUUID()}`): Promise<LocalExecutionResult> {
    // Continuous backups: the state before an execution that changes the schema is a recovery point.
    // Its end is one too, so a later restore to a time after it finds that state.
    const action = (input as { action?: unknown } | null)?.action;
    const changes = action === 'deploy' || action === 'rollback';
    // best effort: sessions the caller keeps open on the database make the copy impossible
    if (changes) await this.rds.recordRecoveryPoint().catch(() => undefined);
    const trace = { states: [] as string[], executions: 0, invocations: [] as { handler: HandlerName; event: unknown }[] };
    try {
      const output = await this.execute(input, executionName, trace);
      return { status: 'SUCCEEDED', output, states: trace.states, executions: trace.executions, invocations: trace.invocations };
    } catch (error) {
      const failure = asFailure(error);
      return { status: 'FAILED', error: failure.error, cause: failure.cause, states: trace.states, executions: trace.executions, invocations: trace.invocations };
    } finally {
      if (changes) await this.rds.recordRecoveryPoint().catch(() => undefined);
    }
  }

  /** Drops every database the simulation created. */
  async dispose(): Promise<void> {
    await this.rds.dispose();
  }

  private async execute(
    input: unknown,
    executionName: string,
    trace: { states: string[]; executions: number; invocations: { handler: HandlerName; event: unknown }[] },
  ): Promise<unknown> {
    trace.executions += 1;
    const machine = new StateMachine(this.definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
    const states = this.definition.States as Record<string, { Type: string; Resource?: string; Retry?: unknown[] }>;
    const taskResourceLocalHandlers: TaskHandlers = {};
    const waitTimeOverrides: Record<string, number> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') taskResourceLocalHandlers[name] = (params) => this.task(state.Resource!, params, executionName, trace) as never;
      // Waits and retry pauses are real durations on AWS; locally only their order matters.
      if (state.Type === 'Wait' && !this.options.realWaitStates?.includes(name)) waitTimeOverrides[name] = 0;
      if (state.Retry) retryIntervalOverrides[name] = 0;
    }
    const stateMachineArn = 'arn:aws:states:local:000000000000:stateMachine:migration-runner';
    const execution = machine.run(input as never, {
      overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
      context: {
        Execution: {
          Id: `arn:aws:states:local:000000000000:execution:migration-runner:${executionName}`,
          Name: executionName,
          Input: input as never,
          StartTime: new Date().toISOString(),
          RoleArn: 'arn:aws:iam::000000000000:role/local',
        },
        StateMachine: { Id: stateMachineArn, Name: 'migration-runner' },
      },
    });
    const consume = (async () => {
      for await (const event of execution.eventLogs) {
        const e = event as EventLog;
        if (e.type === 'StateEntered' && e.index === undefined && e.state) trace.states.push(e.state.name);
        this.options.onEvent?.(e, executionName);
      }
    })();
    try {
      return await execution.result;
    } finally {
      await consume.catch(() => undefined);
    }
  }

  private async task(
    resource: string,
    params: unknown,
    executionName: string,
    trace: { states: string[]; executions: number; invocations: { handler: HandlerName; event: unknown }[] },
  ): Promise<unknown> {
    const p = (params ?? {}) as Record<string, unknown>;
    if (resource === 'arn:aws:states:::lambda:invoke') {
      const name = handlerNameOf(String(p.FunctionName));
      trace.invocations.push({ handler: name, event: p.Payload });
      const payload = await this.invoke(name, p.Payload);
      return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: payload };
    }
    const sdk = /^arn:aws:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$/.exec(resource);
    if (sdk && sdk[1] === 'rds') return this.rds.integration(sdk[2], p);
    if (sdk && sdk[1] === 'cloudwatch' && sdk[2] === 'describeAlarms') return this.cloudWatch.integration(p);
    if (resource === 'arn:aws:states:::sns:publish') {
      if (p.TopicArn !== this.substitutions.NotificationTopicArn) throw new SimulatedServiceError('SNS.NotFoundException', `unknown topic ${String(p.TopicArn)}`);
      this.notifications.push({ subject: String(p.Subject ?? ''), message: typeof p.Message === 'string' ? p.Message : JSON.stringify(p.Message) });
      return { MessageId: randomUUID() };
    }
    if (resource === 'arn:aws:states:::states:startExecution.sync:2') {
      const childName = String(p.Name ?? `${executionName}-continued`);
      try {
        const output = await this.execute(p.Input, childName, trace);
        return { ExecutionArn: `arn:aws:states:local:000000000000:execution:migration-runner:${childName}`, Status: 'SUCCEEDED', Output: output };
      } catch (error) {
        const failure = asFailure(error);
        // What Step Functions reports when a .sync child fails: the child's error and cause.
        throw new SimulatedServiceError(failure.error, failure.cause);
      }
    }
    throw new SimulatedServiceError('States.Runtime', `the local executor does not implement ${resource}`);
  }

  private async invoke(name: HandlerName, event: unknown): Promise<unknown> {
    const handler = (await this.loadHandlers())[name];
    const timeout = this.options.functionTimeoutsMs?.[name] ?? DEFAULT_FUNCTION_TIMEOUT_MS[name];
    const deadline = Date.now() + timeout;
    const context: LambdaLikeContext = {
      functionName: `migration-runner-${name}`,
      functionVersion: '$LATEST',
      invokedFunctionArn: functionArn(name),
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/migration-runner-${name}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    try {
      // A JSON round trip: what crosses the Lambda boundary is JSON, never object identity.
      return JSON.parse(JSON.stringify((await handler(JSON.parse(JSON.stringify(event ?? {})), context)) ?? null));
    } catch (error) {
      throw asLambdaError(error);
    }
  }

  /** The handlers with this executor's environment and AWS stand-ins, made once. */
  private loadHandlers(): Promise<Record<HandlerName, LocalHandler>> {
    this.handlers ??= localHandlersModule().then((createLocalHandlers) =>
      createLocalHandlers({
        env: this.handlerEnvironment(),
        rdsSend: async (command) => this.rds.sdkCommand(command.constructor.name, command.input),
        cloudWatchSend: async (command) => this.cloudWatch.sdkCommand(command),
      }),
    );
    return this.handlers;
  }
}

function functionArn(name: HandlerName): string {
  return `arn:aws:lambda:local:000000000000:function:migration-runner-${name}`;
}

function handlerNameOf(arn: string): HandlerName {
  const match = /function:migration-runner-(preflight|apply|backfill|verify)$/.exec(arn);
  if (!match) throw new SimulatedServiceError('Lambda.ResourceNotFoundException', `unknown function ${arn}`);
  return match[1] as HandlerName;
}

/** A handler error as Step Functions sees it: Error = the error's name, Cause = Lambda's JSON. */
function asLambdaError(error: unknown): Error {
  const e = error instanceof Error ? error : new Error(String(error));
  const name = e.name && e.name !== 'Error' ? e.name : 'Error';
  return new SimulatedServiceError(name, JSON.stringify({ errorType: name, errorMessage: e.message, trace: [] }));
}

function asFailure(error: unknown): { error: string; cause: string } {
  if (error instanceof ExecutionError) {
    const cause = (error as { cause?: unknown }).cause as { name?: string; message?: string } | undefined;
    return { error: cause?.name ?? 'States.Runtime', cause: cause?.message ?? error.message };
  }
  const e = error as { name?: string; message?: string };
  return { error: e.name ?? 'Error', cause: e.message ?? String(error) };
}
