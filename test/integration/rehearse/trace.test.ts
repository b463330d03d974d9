/**
 * The rehearsal's trace and report, from execution events and scenario results (no database):
 * what an operator reads must say which state failed, how long states took, and what was expected.
 */
import { formatReport, type RehearsalReport } from '../../../bin/rehearse/runner';
import { formatMs, progressBar, TracePrinter } from '../../../bin/rehearse/trace';
import type { EventLog } from '../../../local/executor';

function event(type: string, name: string, stateType: string, timestamp: number, extra: Record<string, unknown> = {}): EventLog {
  return { type, state: { name, type: stateType, input: {}, output: extra.output }, timestamp, ...extra } as unknown as EventLog;
}

describe('trace', () => {
  it('prints each Task with its duration and result, folds Choice/Pass states, and remembers the first failed state', () => {
    let out = '';
    const printer = new TracePrinter((t) => void (out += t));
    const trace = printer.begin();
    const feed = (e: EventLog) => printer.onEvent(e, 'x');
    feed(event('StateEntered', 'ValidateInput', 'Choice', 0));
    feed(event('StateExited', 'ValidateInput', 'Choice', 1));
    feed(event('StateEntered', 'ApplyMigrations', 'Task', 10));
    feed(event('StateEntered', 'ApplyMigrations', 'Task', 10));
    feed(event('StateFailed', 'ApplyMigrations', 'Task', 1510, { Error: 'MigrationFailedError' }));
    feed(event('StateCaught', 'ApplyMigrations', 'Task', 1510, { Error: 'MigrationFailedError' }));
    feed(event('StateExited', 'ApplyMigrations', 'Task', 1511));
    feed(event('StateEntered', 'RunBackfillBatch', 'Task', 2000));
    feed(event('StateExited', 'RunBackfillBatch', 'Task', 2250, { output: { backfill: { result: { rowsDone: 500, rowsEstimate: 1000, ratePerSec: 2000, status: 'running', etaSeconds: 1 } } } }));
    printer.end();

    expect(out).toContain('    · ValidateInput\n');
    expect(out).toMatch(/ApplyMigrations\s+1\.5 s {2}✗ MigrationFailedError\n/);
    expect(out.match(/ApplyMigrations/g)).toHaveLength(1);
    expect(out).toMatch(/RunBackfillBatch\s+250 ms {2}\[#{10}\.{10}\] {2}50% 500\/1,000 rows, 2,000 rows\/s, running, ETA 1 s/);
    expect(trace.failedState).toEqual({ name: 'ApplyMigrations', error: 'MigrationFailedError' });
    expect(trace.timings.map((t) => t.name)).toEqual(['ValidateInput', 'ApplyMigrations', 'RunBackfillBatch']);
  });

  it('formats durations and bars', () => {
    expect([formatMs(12), formatMs(1500), formatMs(125_000)]).toEqual(['12 ms', '1.5 s', '2 min 5 s']);
    expect(progressBar(0, 0)).toBe('[....................]   0%');
    expect(progressBar(5, 4)).toBe('[####################] 100%');
  });
});

describe('report', () => {
  const base = { index: 1, id: 'safe', title: 'safe deploy', expected: 'SUCCEEDED', ran: true, ms: 1200, rowsTouched: 0, rewritten: [], checks: [], notes: [] };

  it('names the failing scenario and state, and marks the scenarios not run', () => {
    const report: RehearsalReport = {
      ok: false,
      rows: 20_000,
      ms: 30_000,
      scenarios: [
        { ...base, ok: false, actual: 'execution safe: got FAILED MigrationFailedError at ApplyMigrations', failingState: 'ApplyMigrations' },
        { ...base, index: 2, id: 'index', title: 'index', ok: false, ran: false, actual: 'not run (an earlier scenario failed)', ms: 0 },
      ],
      failing: { scenario: 'safe', state: 'ApplyMigrations' },
    };
    const text = formatReport(report, true);
    expect(text).toContain(' ✗ 1. safe deploy [safe]  1.2 s, rows touched 0');
    expect(text).toContain('      actual:   execution safe: got FAILED MigrationFailedError at ApplyMigrations (failing state: ApplyMigrations)');
    expect(text).toContain(' - 2. index [index]');
    expect(text).toContain('Rehearsal FAILED: scenario safe did not end as expected (failing state: ApplyMigrations); 0/2 scenarios as expected in 30.0 s');
  });

  it('reports the longest lock and a pass', () => {
    const lock = { relation: 'users', mode: 'AccessExclusiveLock', pid: 1, session: 'mr:apply-deploy:rehearse-6-approved', ms: 6400 };
    const text = formatReport({ ok: true, rows: 1_000_000, ms: 77_000, scenarios: [{ ...base, ok: true, actual: 'SUCCEEDED; 4/4 checks passed', longestLock: lock, rewritten: ['users'], rowsTouched: 1_000_000 }], longestLock: lock }, true);
    expect(text).toContain('rows touched 1,000,000 (rewrote users), longest lock ACCESS EXCLUSIVE on users 6.4 s (apply-deploy)');
    expect(text).toContain('Longest lock held by the runner: ACCESS EXCLUSIVE on users 6.4 s (apply-deploy)');
    expect(text).toContain('Rehearsal PASSED: 1/1 scenarios as expected in 1 min 17 s');
  });
});
