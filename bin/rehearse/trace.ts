/**
 * The live trace: turns the executor's execution events into one line per Task (with its duration
 * and what it returned that an operator cares about) and one compact line for the Choice/Pass/Wait
 * states between them. Also remembers, per execution, where it failed: the first state whose error
 * was caught or that failed, which is what the report names.
 */
import type { EventLog } from '../../local/executor';

export interface StateTiming {
  readonly name: string;
  readonly type: string;
  readonly ms: number;
}

export interface ExecutionTrace {
  readonly timings: StateTiming[];
  /** The first state that raised (a caught or failed Task / Fail state), with its error. */
  failedState?: { readonly name: string; readonly error: string };
  /** Outputs of Task states, in order: name and the state's whole output. */
  readonly taskOutputs: { readonly name: string; readonly output: unknown }[];
}

export type Write = (text: string) => void;

const PAD = 28;

export class TracePrinter {
  private readonly entered = new Map<string, number>();
  private readonly failed = new Set<string>();
  private path: string[] = [];
  private trace: ExecutionTrace = { timings: [], taskOutputs: [] };

  constructor(private readonly write: Write) {}

  /** Starts a new execution's trace. */
  begin(): ExecutionTrace {
    this.flushPath();
    this.entered.clear();
    this.trace = { timings: [], taskOutputs: [] };
    return this.trace;
  }

  end(): void {
    this.flushPath();
  }

  /** A line from outside the event stream (index progress), after the states seen so far. */
  note(text: string): void {
    this.flushPath();
    this.write(text);
  }

  onEvent = (event: EventLog, executionName: string): void => {
    const e = event as EventLog & { timestamp?: number };
    const state = e.state;
    if (!state || e.index !== undefined) return;
    const key = `${executionName}/${state.name}`;
    const at = e.timestamp ?? Date.now();
    if (e.type === 'StateEntered') {
      this.entered.set(key, at);
      this.failed.delete(key);
      return;
    }
    if (e.type === 'StateRetried') {
      this.flushPath();
      this.write(`    ↻ ${state.name} retried\n`);
      return;
    }
    if (e.type === 'StateCaught' || e.type === 'StateFailed') {
      // One line per failed state: StateFailed, then StateCaught (and StateExited) for the same entry.
      if (this.failed.has(key)) return;
      this.failed.add(key);
      const error = (e.Error ?? (state.output as { Error?: string } | undefined)?.Error ?? 'error') as string;
      this.trace.failedState ??= { name: state.name, error };
      this.finish(state.name, state.type, at - (this.entered.get(key) ?? at), `✗ ${error}${e.type === 'StateCaught' ? ' (caught)' : ''}`);
      return;
    }
    if (e.type === 'StateExited' && this.failed.has(key)) {
      this.failed.delete(key);
      return;
    }
    if (e.type === 'StateExited') {
      const ms = at - (this.entered.get(key) ?? at);
      if (state.type === 'Task') this.trace.taskOutputs.push({ name: state.name, output: state.output });
      if (state.type === 'Fail') this.trace.failedState ??= { name: state.name, error: 'Fail' };
      this.finish(state.name, state.type, ms, state.type === 'Task' ? describeTask(state.name, state.output) : '');
    }
  };

  private finish(name: string, type: string, ms: number, detail: string): void {
    this.trace.timings.push({ name, type, ms });
    if (type === 'Task' || detail) {
      this.flushPath();
      this.write(`    ${name.padEnd(PAD)} ${formatMs(ms).padStart(8)}${detail ? `  ${detail}` : ''}\n`);
    } else {
      this.path.push(ms >= 5 ? `${name} ${formatMs(ms)}` : name);
    }
  }

  private flushPath(): void {
    if (this.path.length === 0) return;
    this.write(`    · ${this.path.join(' › ')}\n`);
    this.path = [];
  }
}

/** What a Task returned, in a few words (the state's output after ResultPath). */
function describeTask(name: string, output: unknown): string {
  const o = (output ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    if (name === 'RunPreflight' && o.preflight?.result) {
      const p = o.preflight.result;
      return `${p.pending.length} pending, verdict ${p.verdict}, snapshot ${p.needsSnapshot ? 'yes' : 'no'}, health ${p.health?.ok ? 'ok' : 'NOT ok'}`;
    }
    if (name === 'ApplyMigrations' && o.apply) {
      const a = o.apply;
      return `${a.status}: applied ${a.applied.length ? a.applied.join(', ') : 'nothing'}${a.result?.barrier ? ` (barrier: backfill ${a.result.barrier.backfill})` : ''}`;
    }
    if (name === 'RunBackfillBatch' && o.backfill?.result) {
      const b = o.backfill.result;
      return `${progressBar(b.rowsDone, b.rowsEstimate)} ${b.rowsDone.toLocaleString('en-US')}/${b.rowsEstimate.toLocaleString('en-US')} rows, ${b.ratePerSec.toLocaleString('en-US')} rows/s, ${b.status}${b.etaSeconds ? `, ETA ${b.etaSeconds} s` : ''}`;
    }
    if ((name === 'CreateInstanceSnapshot' || name === 'CreateClusterSnapshot') && o.snapshot) return `snapshot ${o.snapshot.identifier ?? ''}`.trim();
    if (name === 'ApplyRollback' && o.rollback?.result) return `rollback.sql of ${o.rollback.result.migration} applied, ${o.rollback.result.rowsMarkedRolledBack} row(s) marked rolled back`;
    if (name === 'FindFailedMigration' && o.failedStatus) return `failed: ${(o.failedStatus.failed ?? []).join(', ') || 'none'}`;
    if (name === 'VerifyDeploy' && o.verify) return `verify ${o.verify.result?.ok === false ? 'NOT ok' : 'ok'}`;
    if (name.startsWith('Restore') && o.restore) return `restoring into ${o.restore.targetIdentifier}`;
  } catch {
    // A shape we do not know: the duration alone is still worth printing.
  }
  return '';
}

export function progressBar(done: number, total: number, width = 20): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
