/** lintMigrations as preflight calls it: syntax errors, --since, positions, the JSON shape, targets. */
import { lint, resolveTarget, formatText, formatJson } from '../../../lambdas/core/lint';
import { InputValidationError } from '../../../lambdas/core/errors';

const USERS = { name: '001_init', file: 'm/001_init/migration.sql', sql: 'CREATE TABLE users (id bigserial PRIMARY KEY, status text);' };

describe('lintMigrations', () => {
  it('reports a syntax error with file:line and claims nothing else about that file', async () => {
    // Prepare: the runbook's step 2 (UPDATE has no LIMIT in PostgreSQL)
    const step2 = { name: '002_backfill', file: 'm/002_backfill/migration.sql', sql: "-- backfill\nUPDATE users SET status = 'active' WHERE status IS NULL LIMIT 1000;\n" };
    // Act
    const report = await lint([USERS, step2]);
    // Assess
    expect(report.verdict).toBe('error');
    expect(report.migrations[1]).toEqual({
      name: '002_backfill',
      file: 'm/002_backfill/migration.sql',
      verdict: 'error',
      findings: [],
      error: { message: expect.stringMatching(/^m\/002_backfill\/migration\.sql:2:\d+: syntax error at or near "LIMIT"$/), line: 2, column: expect.any(Number) },
    });
  });

  it('keeps linting the migrations after a file that does not parse', async () => {
    // Prepare
    const broken = { name: '002_broken', file: 'b.sql', sql: 'ALTER TABLE users ADD COLUMN;' };
    const step3 = { name: '003_not_null', file: 'c.sql', sql: 'ALTER TABLE users ALTER COLUMN status SET NOT NULL;' };
    // Act
    const report = await lint([USERS, broken, step3]);
    // Assess
    expect(report.migrations.map((m) => m.verdict)).toEqual(['safe', 'error', 'dangerous']);
  });

  it('lints only the migrations after `since`, using the earlier ones as history', async () => {
    // Prepare
    const index = { name: '002_index', file: 'i.sql', sql: 'CREATE INDEX users_status ON users (status);' };
    // Act
    const all = await lint([USERS, index]);
    const pending = await lint([USERS, index], { since: '001_init' });
    // Assess
    expect(all.migrations.map((m) => m.name)).toEqual(['001_init', '002_index']);
    expect(pending.migrations.map((m) => [m.name, m.verdict])).toEqual([['002_index', 'dangerous']]);
  });

  it('treats a table created in an earlier pending migration as existing, and one created in the same migration as new', async () => {
    // Prepare
    const same = { name: '002_same', file: 's.sql', sql: 'CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);' };
    const later = { name: '003_later', file: 'l.sql', sql: 'CREATE INDEX t_a2 ON t (a);' };
    // Act
    const report = await lint([USERS, same, later]);
    // Assess
    expect(report.migrations.map((m) => m.verdict)).toEqual(['safe', 'safe', 'dangerous']);
  });

  it('gives every finding the documented fields, with the line and column of its statement', async () => {
    // Prepare
    const sql = '-- a comment\nALTER TABLE users ADD COLUMN bio text;\n\n   CREATE INDEX users_status ON users (status);\n';
    // Act
    const report = await lint([USERS, { name: '002', file: 'x.sql', sql }], { since: '001_init' });
    // Assess
    const [finding] = report.migrations[0].findings;
    expect(Object.keys(finding).sort()).toEqual(['blocks', 'column', 'fix', 'id', 'line', 'lock', 'message', 'rewrites', 'rule', 'severity', 'statement'].sort());
    expect(finding).toMatchObject({
      rule: 'create-index-not-concurrently',
      id: 'LK101',
      severity: 'dangerous',
      line: 4,
      column: 4,
      statement: 'CREATE INDEX users_status ON users (status)',
      lock: expect.stringContaining('SHARE on public.users'),
      blocks: expect.stringContaining('INSERT, UPDATE, DELETE'),
      rewrites: 'scan',
      fix: expect.stringContaining('CONCURRENTLY'),
    });
  });

  it('names the table size from live catalog facts (qualified or bare keys)', async () => {
    // Prepare
    const step3 = { name: '002', file: 'x.sql', sql: 'ALTER TABLE users ALTER COLUMN status SET NOT NULL;' };
    // Act
    const bare = await lint([USERS, step3], { since: '001_init', catalog: { tables: { users: { rowEstimate: 50_000_000, totalBytes: 12 * 1024 ** 3 } } } });
    const small = await lint([USERS, step3], { since: '001_init', catalog: { tables: { 'public.users': { rowEstimate: 40, totalBytes: 16384 } } } });
    // Assess
    expect(bare.migrations[0].findings[0]).toMatchObject({ severity: 'dangerous', message: expect.stringContaining('~50,000,000 rows, 12 GB'), fix: expect.stringContaining('NOT VALID') });
    expect(small.migrations[0].findings[0]).toMatchObject({ severity: 'careful', message: expect.stringContaining('is small: ~40 rows, 16 kB') });
  });

  it('honours smallTableRows', async () => {
    // Prepare
    const index = { name: '002', file: 'x.sql', sql: 'CREATE INDEX users_status ON users (status);' };
    const catalog = { tables: { users: { rowEstimate: 50_000, totalBytes: 4 * 1024 * 1024 } } };
    // Act
    const byDefault = await lint([USERS, index], { since: '001_init', catalog });
    const raised = await lint([USERS, index], { since: '001_init', catalog, smallTableRows: 100_000 });
    // Assess
    expect([byDefault.verdict, raised.verdict]).toEqual(['dangerous', 'careful']);
  });

  it('honours largeTableRows (a careful scan of a large table is dangerous)', async () => {
    // Prepare
    const history = { name: '001_init', file: 'i.sql', sql: 'CREATE TABLE t (a int); CREATE MATERIALIZED VIEW mv AS SELECT a FROM t;' };
    const refresh = { name: '002', file: 'x.sql', sql: 'REFRESH MATERIALIZED VIEW mv;' };
    const catalog = { tables: { mv: { rowEstimate: 200_000 } } };
    // Act
    const byDefault = await lint([history, refresh], { since: '001_init', catalog });
    const lowered = await lint([history, refresh], { since: '001_init', catalog, largeTableRows: 100_000 });
    // Assess
    expect([byDefault.verdict, lowered.verdict]).toEqual(['careful', 'dangerous']);
    expect(lowered.migrations[0].findings[0].message).toContain('public.mv is large: ~200,000 rows');
  });

  it('keeps suppressed findings in the report, marked, out of the verdict', async () => {
    // Prepare
    const sql = '-- migration-runner:allow create-index-not-concurrently table holds 12 rows\nCREATE INDEX users_status ON users (status);';
    // Act
    const report = await lint([USERS, { name: '002', file: 'x.sql', sql }], { since: '001_init' });
    // Assess
    expect(report.migrations[0].verdict).toBe('safe');
    expect(report.migrations[0].findings).toEqual([expect.objectContaining({ rule: 'create-index-not-concurrently', suppressed: true, suppressionReason: 'table holds 12 rows' })]);
  });

  it('reports a suppression naming no rule', async () => {
    // Act
    const report = await lint([USERS, { name: '002', file: 'x.sql', sql: '-- migration-runner:allow no-such-rule because\nSELECT 1;' }], { since: '001_init' });
    // Assess
    expect(report.migrations[0].findings).toEqual([expect.objectContaining({ rule: 'unused-suppression', line: 1, message: expect.stringContaining('no-such-rule') })]);
  });

  it('reports a suppression that is not directly above a statement', async () => {
    // Act
    const report = await lint([USERS, { name: '002', file: 'x.sql', sql: 'SELECT 1;\n-- migration-runner:allow drop-table left at the end\n' }], { since: '001_init' });
    // Assess
    expect(report.migrations[0].findings).toEqual([expect.objectContaining({ rule: 'unused-suppression', line: 2, statement: '', message: expect.stringContaining('not directly above a statement') })]);
  });

  it('formats text with the offending line, the lock and the fix, and JSON that round-trips', async () => {
    // Prepare
    const report = await lint([USERS, { name: '002', file: 'm/002/migration.sql', sql: 'ALTER TABLE users ALTER COLUMN status SET NOT NULL;' }], { since: '001_init' });
    // Act
    const text = formatText(report);
    const json = JSON.parse(formatJson(report));
    // Assess
    expect(text).toContain('m/002/migration.sql:1:1 DANGEROUS set-not-null-scan (LK209)');
    expect(text).toContain('    ALTER TABLE users ALTER COLUMN status SET NOT NULL');
    expect(text).toMatch(/lock: ACCESS EXCLUSIVE on public\.users/);
    expect(text).toContain('fix: ALTER TABLE "public"."users" ADD CONSTRAINT "users_status_not_null" CHECK ("status" IS NOT NULL) NOT VALID;');
    expect(text).toContain('verdict: dangerous (1 migration: 1 dangerous, 0 careful, 0 safe)');
    expect(json).toEqual(report);
  });
});

describe('resolveTarget', () => {
  it.each([
    [16, { versionNum: 160000, major: 16 }],
    [11, { versionNum: 110000, major: 11 }],
    [140002, { versionNum: 140002, major: 14, minor: 2 }],
    [180001, { versionNum: 180001, major: 18, minor: 1 }],
    [200003, { versionNum: 200003, major: 20, minor: 3 }],
    [90605, { versionNum: 90605, major: 9, minor: 6 }],
  ])('%s', (input, expected) => {
    // Act / Assess
    expect(resolveTarget(input)).toEqual(expected);
  });

  it('defaults to PostgreSQL 16', () => {
    expect(resolveTarget()).toEqual({ versionNum: 160000, major: 16 });
  });

  it.each([0, 7, 40, 16.5, 1000, 400000])('rejects %s', (input) => {
    expect(() => resolveTarget(input)).toThrow(InputValidationError);
  });
});
