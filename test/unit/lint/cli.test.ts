/** The lint command: reading folders and files, formats, exit codes. */
import { join } from 'node:path';
import { lintCommand, parsePgVersion, readMigrations } from '../../../bin/commands/lint';
import type { Io } from '../../../bin/commands/command';
import { InputValidationError } from '../../../lambdas/core/errors';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'lint');

function io(): Io & { out: string; err: string } {
  const captured = { out: '', err: '' };
  return Object.assign(captured, {
    stdout: (t: string) => void (captured.out += t),
    stderr: (t: string) => void (captured.err += t),
    env: {},
    isTty: false,
  });
}

describe('lint command', () => {
  it('exits 2 on the runbook folder, naming the step-2 syntax error by file:line', async () => {
    // Prepare
    const out = io();
    // Act
    const code = await lintCommand.run([join(FIXTURES, 'runbook')], out);
    // Assess
    expect(code).toBe(2);
    expect(out.out).toMatch(/20240103000000_backfill_status\/migration\.sql:2:\d+: syntax error at or near "LIMIT"/);
    expect(out.out).toMatch(/20240104000000_status_not_null\/migration\.sql:2:1 DANGEROUS set-not-null-scan/);
    expect(out.out).toMatch(/20240102000000_add_status\/migration\.sql: safe/);
  });

  it('exits 1 when only the dangerous step is pending (--since), with the NOT VALID fix', async () => {
    // Prepare
    const out = io();
    // Act
    const code = await lintCommand.run([join(FIXTURES, 'runbook'), '--since', '20240103000000_backfill_status', '--format', 'json'], out);
    // Assess
    const report = JSON.parse(out.out);
    expect(code).toBe(1);
    expect(report.migrations.map((m: { name: string; verdict: string }) => [m.name, m.verdict])).toEqual([['20240104000000_status_not_null', 'dangerous']]);
    expect(report.migrations[0].findings[0].fix).toContain('NOT VALID');
  });

  it('exits 0 on a safe folder', async () => {
    // Prepare
    const out = io();
    // Act
    const code = await lintCommand.run([join(FIXTURES, 'safe')], out);
    // Assess
    expect(code).toBe(0);
    expect(out.out).toContain('verdict: safe (2 migrations: 0 dangerous, 0 careful, 2 safe)');
  });

  it('shows informational findings only with --verbose', async () => {
    // Prepare: VALIDATE alone in its migration is safe, reported as information
    const dir = join(FIXTURES, 'three-step');
    const quiet = io();
    const verbose = io();
    // Act
    const codes = [await lintCommand.run([dir], quiet), await lintCommand.run([dir, '--verbose'], verbose)];
    // Assess
    expect(codes).toEqual([0, 0]);
    expect(quiet.out).not.toContain('validate-constraint');
    expect(verbose.out).toMatch(/20240103000000_validate\/migration\.sql:1:1 SAFE validate-constraint \(LK305\)/);
  });

  it('lints single files and migration folders given one by one, in the order given', async () => {
    // Act
    const migrations = readMigrations([join(FIXTURES, 'runbook', '20240101000000_init'), join(FIXTURES, 'runbook', '20240104000000_status_not_null', 'migration.sql')]);
    // Assess
    expect(migrations.map((m) => m.name)).toEqual(['20240101000000_init', '20240104000000_status_not_null']);
  });

  it('gates rules on --pg-version', async () => {
    // Prepare
    const file = join(FIXTURES, 'runbook', '20240102000000_add_status', 'migration.sql');
    const out = io();
    // Act
    const code = await lintCommand.run([file, '--pg-version', '14.2', '--format', 'json'], out);
    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(out.out).pgVersionNum).toBe(140002);
  });

  it.each([
    [['--format', 'xml', 'x']],
    [['--timeouts', 'never', 'x']],
    [['--pg-version', 'sixteen', 'x']],
    [[]],
  ])('rejects bad usage %j', async (argv) => {
    await expect(lintCommand.run(argv, io())).rejects.toThrow(InputValidationError);
  });

  it('rejects a path that does not exist as a usage error', async () => {
    await expect(lintCommand.run([join(FIXTURES, 'nope.sql')], io())).rejects.toThrow(InputValidationError);
  });
});

describe('parsePgVersion', () => {
  it.each([
    ['16', 16],
    ['14.2', 140002],
    ['9.6', 90600],
  ])('%s -> %s', (input, expected) => {
    expect(parsePgVersion(input)).toBe(expected);
  });
});
