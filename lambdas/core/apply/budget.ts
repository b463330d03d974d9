/**
 * The time budget of one apply invocation: never start a migration that may not finish before
 * the invocation ends. A migration starts only while more than the margin plus the slowest
 * migration seen so far is left.
 */
import type { Clock } from '../ports';

export interface TimeBudgetOptions {
  /** Milliseconds left in this invocation (Lambda: context.getRemainingTimeInMillis). */
  readonly remainingMs: () => number;
  /** Do not start a migration with less than this left (plus the slowest one so far). */
  readonly marginMs: number;
}

export class TimeBudget {
  private slowestMs = 0;
  private startedAt = 0;

  constructor(
    private readonly options: TimeBudgetOptions,
    private readonly clock: Clock,
  ) {}

  /** true when the next migration may start (and starts its stopwatch). */
  allowsNext(): boolean {
    if (this.options.remainingMs() < this.options.marginMs + this.slowestMs) return false;
    this.startedAt = this.clock.now().getTime();
    return true;
  }

  /** Records the migration that just finished. */
  finished(): void {
    this.slowestMs = Math.max(this.slowestMs, this.clock.now().getTime() - this.startedAt);
  }

  /** For the log line of a stop. */
  facts(): { remainingMs: number; slowestMs: number } {
    return { remainingMs: this.options.remainingMs(), slowestMs: this.slowestMs };
  }
}
