/**
 * Follows a running execution through GetExecutionHistory and prints what an operator needs:
 * state transitions with durations, failures with their cause, lint verdicts, backfill progress
 * (a bar on a terminal, plain lines in CI logs), and the final result. Polling interval, clock and
 * time limit are injected so tests run in milliseconds.
 */
import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import type { Clock } from '../../lambdas/core/ports';
import type { Io } from '../commands/command';
import { arnName, awsCall } from './sfn';

export type FinalStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
export type WatchStatus = FinalStatus | 'STILL_RUNNING';

export interface WatchOutcome {
  readonly status: WatchStatus;
  /** The execution the watch ended on (a continuation's, when the backfill continued as new). */
  readonly executionArn: string;
  readonly output?: string;
}

export interface WatchOptions {
  readonly client: SFNClient;
  readonly io: Io;
  readonly clock: Clock;
  readonly pollIntervalMs: number;
  /** Give up (status STILL_RUNNING) after this long; the execution itself goes on. */
  readonly timeoutMs: number;
  /** Executions started by "continue as new" that are followed, at most. */
  readonly maxContinuations?: number;
}

/** 0 when it succeeded, 1 when it failed, timed out or was aborted, 3 when the watch gave up first. */
export function exitCodeFor(status: WatchStatus): number {
  if (status === 'SUCCEEDED') return 0;
  return status === 'STILL_RUNNING' ? 3 : 1;
}

export function formatDuration(ms: number): string {
  const safe = Math.max(0, ms);
  if (safe < 60_000) return `${(safe / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(safe / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  return hours > 0 ? `${hours}h${String(minutes).padStart(2, '0')}m` : `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

export interface BackfillProgress {
  readonly name?: string;
  readonly status?: string;
  readonly rowsDone: number;
  readonly rowsEstimate: number;
  readonly ratePerSec: number;
  readonly etaSeconds: number | null;
}

function isProgress(value: unknown): value is BackfillProgress {
  const v = value as Record<string, unknown> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.rowsDone === 'number' &&
    typeof v.rowsEstimate === 'number' &&
    typeof v.ratePerSec === 'number' &&
    (typeof v.etaSeconds === 'number' || v.etaSeconds === null)
  );
}

/** One progress line; `bar` draws a 24-cell bar for terminals. */
export function formatProgress(p: BackfillProgress, bar: boolean): string {
  const ratio = p.rowsEstimate > 0 ? Math.min(1, p.rowsDone / p.rowsEstimate) : p.status === 'done' ? 1 : 0;
  const percent = `${(ratio * 100).toFixed(1)}%`;
  const eta = p.etaSeconds === null ? 'ETA ?' : `ETA ${formatDuration(p.etaSeconds * 1000)}`;
  const status = p.status && p.status !== 'running' ? `, ${p.status}` : '';
  const name = p.name ?? '';
  if (bar) {
    const filled = Math.round(ratio * 24);
    return `backfill ${name} [${'#'.repeat(filled)}${'-'.repeat(24 - filled)}] ${percent} ${count(p.rowsDone)}/${count(p.rowsEstimate)} rows ${count(p.ratePerSec)} rows/s ${eta}${status}`;
  }
  return `backfill ${name}: ${count(p.rowsDone)}/${count(p.rowsEstimate)} rows (${percent}), ${count(p.ratePerSec)} rows/s, ${eta}${status}`;
}

/** A Lambda error's cause is JSON `{errorType, errorMessage, trace}`: show the message, never the trace. */
export function describeFailure(error: string | undefined, cause: string | undefined): string {
  let message = cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorType?: string; errorMessage?: string };
    if (parsed && typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // Not JSON: Step Functions' own causes are plain text.
  }
  message = message.length > 2000 ? `${message.slice(0, 2000)}...` : message;
  const name = error ?? 'Error';
  return message ? `${name}: ${message}` : name;
}

/** A task's result: the Lambda payload for lambda:invoke (which wraps it in `Payload`), else the output. */
function taskResult(output: string | undefined): unknown {
  if (!output) return undefined;
  try {
    const parsed = JSON.parse(output) as Record<string, unknown>;
    return parsed && typeof parsed === 'object' && parsed.Payload && typeof parsed.Payload === 'object' ? parsed.Payload : parsed;
  } catch {
    return undefined;
  }
}

interface Verdict {
  name: string;
  verdict: string;
  approved?: boolean;
  findings?: { rule: string; severity: string; line: number | null; message: string }[];
}

const ENTRY_PRINTED = new Set(['TaskStateEntered', 'MapStateEntered', 'ParallelStateEntered']);
const FAILURE_DETAILS: Partial<Record<string, keyof HistoryEvent>> = {
  TaskFailed: 'taskFailedEventDetails',
  TaskTimedOut: 'taskTimedOutEventDetails',
  TaskStartFailed: 'taskStartFailedEventDetails',
  TaskSubmitFailed: 'taskSubmitFailedEventDetails',
  LambdaFunctionFailed: 'lambdaFunctionFailedEventDetails',
  LambdaFunctionTimedOut: 'lambdaFunctionTimedOutEventDetails',
  LambdaFunctionStartFailed: 'lambdaFunctionStartFailedEventDetails',
  LambdaFunctionScheduleFailed: 'lambdaFunctionScheduleFailedEventDetails',
  MapRunFailed: 'mapRunFailedEventDetails',
};
const TERMINAL: Partial<Record<string, [FinalStatus, keyof HistoryEvent]>> = {
  ExecutionFailed: ['FAILED', 'executionFailedEventDetails'],
  ExecutionTimedOut: ['TIMED_OUT', 'executionTimedOutEventDetails'],
  ExecutionAborted: ['ABORTED', 'executionAbortedEventDetails'],
};

/** What an operator does next after the execution failed with this error. */
export const NEXT_STEP: Readonly<Record<string, string>> = {
  DangerousMigrationNotApprovedError:
    'review the findings (start --action plan --watch), then start again with --approve NAME for each migration you accept',
  FailedMigrationsError: 'a failed migration blocks every deploy (P3009): fix the database, then resolve it (docs/console.md, "Resolve a failed migration")',
  LockRetriesExhaustedError: 'lock_timeout kept firing: see who holds the locks with --action blockers, then retry in a quieter window or with a higher --lock-timeout',
  AdvisoryLockTimeoutError: 'another deploy holds the migration lock: see `executions --status RUNNING`',
  InputValidationError: 'the input was refused before anything ran: fix the field named above (docs/console.md has an example of every action)',
  DatabaseUnhealthyError: 'nothing was applied: fix what preflight reported, or wait, and start again',
  NoRestorableBackupError: 'nothing was applied: no backup recent enough to undo this deploy; check automated backups (or use --snapshot always)',
};

/** Turns history events into lines; keeps the little state needed for durations and the bar. */
export class HistoryPrinter {
  private readonly entered = new Map<string, Date[]>();
  private startedAt: Date | undefined;
  private currentTask = '';
  private barOpen = false;
  /** Executions of this machine started by a task ("continue as new"), not yet followed. */
  readonly children: string[] = [];

  constructor(private readonly io: Io) {}

  private line(at: Date | undefined, text: string): void {
    if (this.barOpen) {
      this.io.stdout('\n');
      this.barOpen = false;
    }
    const time = at ? at.toISOString().slice(11, 19) : '--:--:--';
    this.io.stdout(`${time}  ${text}\n`);
  }

  private progress(at: Date | undefined, p: BackfillProgress): void {
    if (this.io.isTty) {
      // Redraw in place: one bar however many batches run.
      this.io.stdout(`\r\x1b[2K${formatProgress(p, true)}`);
      this.barOpen = true;
    } else {
      this.line(at, formatProgress(p, false));
    }
  }

  private result(at: Date | undefined, result: unknown): void {
    if (!result || typeof result !== 'object') return;
    const r = result as Record<string, unknown>;
    if (isProgress(r)) this.progress(at, r);
    if (Array.isArray(r.verdicts)) {
      for (const v of r.verdicts as Verdict[]) {
        this.line(at, `  lint ${String(v.verdict).padEnd(9)} ${v.name}${v.approved ? ' (approved)' : ''}`);
        for (const f of v.findings ?? []) {
          this.line(at, `         ${f.severity} ${f.rule}${f.line ? ` (line ${f.line})` : ''}: ${f.message}`);
        }
      }
      if (Array.isArray(r.approvedMissing) && r.approvedMissing.length > 0) {
        this.line(at, `  approval needed for: ${(r.approvedMissing as string[]).join(', ')} (start again with --approve NAME after review)`);
      }
    }
    if (Array.isArray(r.applied) && r.applied.length > 0) this.line(at, `  applied: ${(r.applied as string[]).join(', ')}`);
    const barrier = r.barrier as { migration?: string; backfill?: string } | undefined;
    if (r.status === 'barrier' && barrier) this.line(at, `  backfill barrier after ${barrier.migration}: running backfill ${barrier.backfill}`);
  }

  /** Prints one event; returns the final status when the event ends the execution. */
  handle(event: HistoryEvent): { status: FinalStatus; output?: string } | undefined {
    const at = event.timestamp;
    const type = event.type ?? '';
    if (type === 'ExecutionStarted') {
      this.startedAt = at;
      return undefined;
    }
    if (type.endsWith('StateEntered')) {
      const name = event.stateEnteredEventDetails?.name ?? '?';
      this.entered.set(name, [...(this.entered.get(name) ?? []), at ?? new Date(0)]);
      if (type === 'TaskStateEntered') this.currentTask = name;
      if (ENTRY_PRINTED.has(type)) this.line(at, `-> ${name}`);
      return undefined;
    }
    if (type.endsWith('StateExited')) {
      const name = event.stateExitedEventDetails?.name ?? '?';
      const starts = this.entered.get(name) ?? [];
      const began = starts.pop();
      const took = began && at ? `  ${formatDuration(at.getTime() - began.getTime())}` : '';
      this.line(at, `ok ${name.padEnd(28)}${took}`);
      return undefined;
    }
    // startExecution (and its .sync variants): the StartExecution response names the child, in
    // TaskSubmitted for .sync (the parent then waits for it) or TaskSucceeded for fire-and-forget.
    const started = event.taskSubmittedEventDetails ?? event.taskSucceededEventDetails;
    if ((type === 'TaskSubmitted' || type === 'TaskSucceeded') && started?.resourceType === 'states' && started.resource?.startsWith('startExecution')) {
      const arn = (taskResult(started.output) as { ExecutionArn?: unknown } | undefined)?.ExecutionArn;
      if (typeof arn === 'string') this.children.push(arn);
      return undefined;
    }
    if (type === 'TaskSucceeded' || type === 'LambdaFunctionSucceeded') {
      const details = event.taskSucceededEventDetails ?? event.lambdaFunctionSucceededEventDetails;
      this.result(at, taskResult(details?.output));
      return undefined;
    }
    const failure = FAILURE_DETAILS[type];
    if (failure) {
      const d = event[failure] as { error?: string; cause?: string } | undefined;
      this.line(at, `FAILED ${this.currentTask || 'task'}: ${describeFailure(d?.error, d?.cause)}`);
      return undefined;
    }
    if (type === 'ExecutionSucceeded') {
      const output = event.executionSucceededEventDetails?.output;
      this.line(at, `SUCCEEDED${this.took(at)}`);
      return { status: 'SUCCEEDED', output };
    }
    const terminal = TERMINAL[type];
    if (terminal) {
      const d = event[terminal[1]] as { error?: string; cause?: string } | undefined;
      const why = d?.error || d?.cause ? `: ${describeFailure(d?.error, d?.cause)}` : '';
      this.line(at, `${terminal[0]}${this.took(at)}${why}`);
      const hint = d?.error ? NEXT_STEP[d.error] : undefined;
      if (hint) this.io.stdout(`next: ${hint}\n`);
      return { status: terminal[0] };
    }
    return undefined;
  }

  private took(at: Date | undefined): string {
    return this.startedAt && at ? ` in ${formatDuration(at.getTime() - this.startedAt.getTime())}` : '';
  }
}

/**
 * Events after `afterId`, oldest first. Reads newest-first and stops at the first event already
 * seen, so a long execution costs one page per poll rather than its whole history.
 */
export async function newEvents(client: SFNClient, executionArn: string, afterId: number, clock: Clock): Promise<HistoryEvent[]> {
  const collected: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page = await awsCall(
      'GetExecutionHistory',
      () => client.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100, includeExecutionData: true, nextToken: token })),
      { clock },
    );
    for (const event of page.events ?? []) {
      if ((event.id ?? 0) <= afterId) return collected.reverse();
      collected.push(event);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return collected.reverse();
}

interface FollowContext {
  readonly options: WatchOptions;
  readonly deadline: number;
  /** Children already followed (a .sync child is named by two events). */
  readonly followed: Set<string>;
}

/**
 * Polls one execution until it ends. A child started by "continue as new" is followed to its end
 * as soon as it appears (the parent waits for it), then the parent is read on.
 */
async function follow(executionArn: string, ctx: FollowContext, depth: number): Promise<WatchOutcome> {
  const { client, io, clock } = ctx.options;
  const printer = new HistoryPrinter(io);
  let lastId = 0;
  for (;;) {
    for (const event of await newEvents(client, executionArn, lastId, clock)) {
      lastId = Math.max(lastId, event.id ?? 0);
      const end = printer.handle(event);
      for (const child of printer.children.splice(0)) {
        if (ctx.followed.has(child) || ctx.followed.size >= (ctx.options.maxContinuations ?? 50)) continue;
        ctx.followed.add(child);
        io.stdout(`continued as ${arnName(child)}\n`);
        const outcome = await follow(child, ctx, depth + 1);
        if (outcome.status === 'STILL_RUNNING') return outcome;
        io.stdout(`back in ${arnName(executionArn)}\n`);
      }
      if (!end) continue;
      // The outermost output includes its children's; print it once, at the end.
      if (depth === 0 && end.output !== undefined) io.stdout(`${prettyJson(end.output)}\n`);
      return { status: end.status, executionArn, output: end.output };
    }
    if (clock.now().getTime() >= ctx.deadline) {
      io.stdout(`\nstopped watching after ${formatDuration(ctx.options.timeoutMs)}: ${arnName(executionArn)} is still running and goes on without this watch\n`);
      return { status: 'STILL_RUNNING', executionArn };
    }
    await clock.sleep(ctx.options.pollIntervalMs);
  }
}

/** Polls until the execution ends (following continuations) or the time limit passes. */
export async function watchExecution(executionArn: string, options: WatchOptions): Promise<WatchOutcome> {
  const deadline = options.clock.now().getTime() + options.timeoutMs;
  return follow(executionArn, { options, deadline, followed: new Set() }, 0);
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
