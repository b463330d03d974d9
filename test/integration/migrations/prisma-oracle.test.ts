/**
 * Compatibility with Prisma, proven by Prisma's own schema engine (test/helpers/prisma-oracle.ts):
 * after each of our operations the engine's diagnosis equals our `status`; what we deploy, the
 * engine's deploy finds nothing to apply and its diff finds nothing to change; what the engine
 * deploys, ours finds nothing to apply; the rows both write are equal column by column.
 * Each scenario runs our CLI on one database and the engine on another, then each side reads both.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { STATE_TABLE } from '../../../lambdas/core/backfill/state';
import type { StatusReport } from '../../../lambdas/core/migrations';
import { runCli } from '../../helpers/cli';
import { freshDatabase, type TestDatabase } from '../../helpers/database';
import { generateHistory, writeHistory } from '../../helpers/history';
import { MigrationsDir } from '../../helpers/migrations-dir';
import {
  EngineError,
  engineVerdict,
  migrationRows,
  migrationsTableShape,
  ourVerdict,
  prismaStatusExitCode,
  PrismaOracle,
  type StatusVerdict,
} from '../../helpers/prisma-oracle';

const EXAMPLES = join(__dirname, '..', '..', '..', 'examples', 'prisma', 'migrations');

let oracle: PrismaOracle;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  oracle = await PrismaOracle.start();
});
afterAll(async () => {
  await oracle?.close();
  await Promise.all(databases.map((d) => d.drop()));
});

/** Two fresh databases: ours (our CLI writes it) and Prisma's (the engine writes it). */
async function pair(): Promise<{ ours: TestDatabase; prisma: TestDatabase; oursClient: Client; prismaClient: Client }> {
  const [ours, prisma] = await Promise.all([freshDatabase('oracle_ours'), freshDatabase('oracle_prisma')]);
  databases.push(ours, prisma);
  return { ours, prisma, oursClient: await ours.client(), prismaClient: await prisma.client() };
}

async function ourStatus(url: string, dir: string): Promise<StatusReport> {
  const run = await runCli(['status', '--json', '--migrations', dir, '--database-url', url]);
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as StatusReport;
}

async function ourDeploy(url: string, dir: string): Promise<{ code: number; applied: string[]; stderr: string }> {
  const run = await runCli(['deploy', '--json', '--migrations', dir, '--database-url', url]);
  const applied = run.code === 0 ? (JSON.parse(run.stdout) as { applied: { name: string }[] }).applied.map((m) => m.name) : [];
  return { code: run.code, applied, stderr: run.stderr };
}

async function ourResolve(url: string, dir: string, flag: '--applied' | '--rolled-back', name: string): Promise<{ code: number; stderr: string }> {
  const run = await runCli(['resolve', flag, name, '--migrations', dir, '--database-url', url]);
  return { code: run.code, stderr: run.stderr };
}

/**
 * Our status and the engine's diagnosis of one database, which must agree. Exit codes agree too,
 * except where we are stricter on purpose: migrations applied in the database but missing locally,
 * with nothing pending, are "up to date" (exit 0) for `prisma migrate status`; ours exits 1.
 */
async function expectSameVerdict(url: string, dir: string): Promise<StatusVerdict> {
  const [report, diagnosis] = await Promise.all([ourStatus(url, dir), oracle.diagnose(url, dir)]);
  const verdict = engineVerdict(diagnosis);
  expect(ourVerdict(report)).toEqual(verdict);
  const onlyDatabaseAhead = diagnosis.history?.diagnostic === 'migrationsDirectoryIsBehind' && diagnosis.failedMigrationNames.length === 0;
  expect({ ours: report.exitCode, prisma: prismaStatusExitCode(diagnosis) }).toEqual(onlyDatabaseAhead ? { ours: 1, prisma: 0 } : { ours: report.exitCode, prisma: report.exitCode });
  return verdict;
}

const UP_TO_DATE: StatusVerdict = { managed: true, pending: [], databaseOnly: [], lastCommon: null, failed: [], edited: [] };

/** Deploys with each side on its own database, checks each side reads both, and compares the rows. */
async function deployBothWays(dir: string, expected: readonly string[]) {
  const both = await pair();
  expect(await expectSameVerdict(both.ours.url, dir)).toEqual({ ...UP_TO_DATE, managed: false, pending: expected });
  const ours = await ourDeploy(both.ours.url, dir);
  expect(ours).toMatchObject({ code: 0, applied: expected });
  expect(await expectSameVerdict(both.ours.url, dir)).toEqual(UP_TO_DATE);
  expect(await oracle.applyMigrations(both.ours.url, dir)).toEqual([]);

  expect(await oracle.applyMigrations(both.prisma.url, dir)).toEqual(expected);
  expect(await expectSameVerdict(both.prisma.url, dir)).toEqual(UP_TO_DATE);
  expect(await ourDeploy(both.prisma.url, dir)).toMatchObject({ code: 0, applied: [] });

  const rows = await migrationRows(both.oursClient);
  expect(rows).toHaveLength(expected.length);
  expect(rows.every((r) => r.wellFormed)).toBe(true);
  expect(await migrationRows(both.prismaClient)).toEqual(rows);
  expect(await migrationsTableShape(both.oursClient)).toEqual(await migrationsTableShape(both.prismaClient));
  return both;
}

describe('what one side deploys, the other reads as up to date and does not apply again', () => {
  it('the runbook examples (CONCURRENTLY, the 3-step NOT NULL with its backfill barrier, a rewrite)', async () => {
    const names = (await readdir(EXAMPLES, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    const { ours } = await deployBothWays(EXAMPLES, names);

    // Prisma sees our backfill bookkeeping table as drift unless it is declared external.
    expect(await oracle.diff(ours.url, EXAMPLES)).toEqual({ empty: false, text: `\n[+] Added tables\n  - ${STATE_TABLE}\n` });
    expect(await oracle.diff(ours.url, EXAMPLES, { externalTables: [`public.${STATE_TABLE}`] })).toEqual({ empty: true, text: 'No difference detected.\n' });
  });

  it('a generated history of 320 mixed migrations', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mr-oracle-history-'));
    try {
      const history = generateHistory(320);
      await writeHistory(dir, history);
      const { ours } = await deployBothWays(dir, history.map((m) => m.name));
      expect(await oracle.diff(ours.url, dir)).toEqual({ empty: true, text: 'No difference detected.\n' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const ACCOUNTS = '20240101000000_accounts';
const CHECK = '20240102000000_balance_check';
const NOTE = '20240103000000_note';
/** The CHECK fails on the existing negative balance: a one-statement file, so nothing of it is left on either side. */
const failingHistory = {
  [ACCOUNTS]: 'CREATE TABLE "accounts" (\n    "id" BIGSERIAL PRIMARY KEY,\n    "balance" INTEGER NOT NULL\n);\nINSERT INTO "accounts" ("balance") VALUES (10), (-5);\n',
  [CHECK]: 'ALTER TABLE "accounts" ADD CONSTRAINT "accounts_balance_positive" CHECK ("balance" >= 0);\n',
  [NOTE]: 'ALTER TABLE "accounts" ADD COLUMN "note" TEXT;\n',
};

/** Each side deploys the failing history on its own database; both fail at the CHECK. */
async function failBothWays(dir: string) {
  const both = await pair();
  const ours = await ourDeploy(both.ours.url, dir);
  expect(ours.code).toBe(1);
  expect(ours.stderr).toContain('P3018');
  const prisma = await oracle.applyMigrations(both.prisma.url, dir).then(
    () => undefined,
    (error: unknown) => error,
  );
  // Through the adapter the engine reports the database error itself, without the P3018 wrapper.
  expect(prisma).toBeInstanceOf(EngineError);
  expect((prisma as EngineError).message).toContain('check constraint "accounts_balance_positive" of relation "accounts" is violated by some row');
  for (const client of [both.oursClient, both.prismaClient]) {
    const { rows } = await client.query(`SELECT logs FROM "_prisma_migrations" WHERE migration_name = $1`, [CHECK]);
    expect(rows).toEqual([{ logs: expect.stringContaining('violated by some row') }]);
  }
  return both;
}

describe('failure and recovery, each side reading the other', () => {
  let dir: MigrationsDir;
  afterEach(() => dir?.remove());

  it('a failed migration: same verdict, same rows, each side refuses to deploy over it (P3009); resolve --rolled-back; the fixed file deploys', async () => {
    dir = await MigrationsDir.create(failingHistory);
    const { ours, prisma, oursClient, prismaClient } = await failBothWays(dir.path);

    const failed: StatusVerdict = { ...UP_TO_DATE, pending: [NOTE], failed: [CHECK] };
    expect(await expectSameVerdict(ours.url, dir.path)).toEqual(failed);
    expect(await expectSameVerdict(prisma.url, dir.path)).toEqual(failed);
    expect(await ourDeploy(prisma.url, dir.path)).toMatchObject({ code: 1, stderr: expect.stringContaining('P3009') });
    await expect(oracle.applyMigrations(ours.url, dir.path)).rejects.toMatchObject({ code: 'P3009' });
    const rows = await migrationRows(oursClient);
    expect(rows.map((r) => [r.migrationName, r.finished, r.logs])).toEqual([
      [ACCOUNTS, true, null],
      [CHECK, false, '<error>'],
    ]);
    expect(await migrationRows(prismaClient)).toEqual(rows);

    // resolve --rolled-back: the same refusals (P3012 not failed, P3011 never applied), then the same rows.
    expect(await ourResolve(ours.url, dir.path, '--rolled-back', ACCOUNTS)).toMatchObject({ code: 1, stderr: expect.stringContaining('P3012') });
    await expect(oracle.markMigrationRolledBack(prisma.url, ACCOUNTS)).rejects.toMatchObject({ code: 'P3012' });
    expect(await ourResolve(ours.url, dir.path, '--rolled-back', NOTE)).toMatchObject({ code: 1, stderr: expect.stringContaining('P3011') });
    await expect(oracle.markMigrationRolledBack(prisma.url, NOTE)).rejects.toMatchObject({ code: 'P3011' });
    expect(await ourResolve(ours.url, dir.path, '--rolled-back', CHECK)).toMatchObject({ code: 0 });
    await oracle.markMigrationRolledBack(prisma.url, CHECK);
    const rolledBack: StatusVerdict = { ...UP_TO_DATE, pending: [CHECK, NOTE] };
    expect(await expectSameVerdict(ours.url, dir.path)).toEqual(rolledBack);
    expect(await expectSameVerdict(prisma.url, dir.path)).toEqual(rolledBack);
    expect((await migrationRows(oursClient)).map((r) => [r.migrationName, r.rolledBack])).toEqual([
      [ACCOUNTS, false],
      [CHECK, true],
    ]);
    expect(await migrationRows(prismaClient)).toEqual(await migrationRows(oursClient));

    // The file fixed (NOT VALID), each side deploys the rest and finds nothing left on the other's database.
    await dir.add({ [CHECK]: failingHistory[CHECK].replace(');', ') NOT VALID;') });
    expect(await ourDeploy(ours.url, dir.path)).toMatchObject({ code: 0, applied: [CHECK, NOTE] });
    expect(await oracle.applyMigrations(prisma.url, dir.path)).toEqual([CHECK, NOTE]);
    for (const { url } of [ours, prisma]) expect(await expectSameVerdict(url, dir.path)).toEqual(UP_TO_DATE);
    expect(await oracle.applyMigrations(ours.url, dir.path)).toEqual([]);
    expect(await ourDeploy(prisma.url, dir.path)).toMatchObject({ code: 0, applied: [] });
    const final = await migrationRows(oursClient);
    expect(final.map((r) => [r.migrationName, r.finished, r.rolledBack])).toEqual([
      [ACCOUNTS, true, false],
      [CHECK, false, true],
      [CHECK, true, false],
      [NOTE, true, false],
    ]);
    expect(await migrationRows(prismaClient)).toEqual(final);
    expect(await oracle.diff(ours.url, dir.path)).toEqual({ empty: true, text: 'No difference detected.\n' });
  });

  it('resolve --applied: a failure hotfixed by hand, and a baseline of an existing database', async () => {
    dir = await MigrationsDir.create(failingHistory);
    const { ours, prisma, oursClient, prismaClient } = await failBothWays(dir.path);
    for (const client of [oursClient, prismaClient]) {
      await client.query(`UPDATE "accounts" SET "balance" = 0 WHERE "balance" < 0; ALTER TABLE "accounts" ADD CONSTRAINT "accounts_balance_positive" CHECK ("balance" >= 0)`);
    }
    expect(await ourResolve(ours.url, dir.path, '--applied', CHECK)).toMatchObject({ code: 0 });
    await oracle.markMigrationApplied(prisma.url, dir.path, CHECK);
    const hotfixed: StatusVerdict = { ...UP_TO_DATE, pending: [NOTE] };
    expect(await expectSameVerdict(ours.url, dir.path)).toEqual(hotfixed);
    expect(await expectSameVerdict(prisma.url, dir.path)).toEqual(hotfixed);
    const rows = await migrationRows(oursClient);
    expect(rows.map((r) => [r.migrationName, r.finished, r.rolledBack, r.logs, r.appliedStepsCount])).toEqual([
      [ACCOUNTS, true, false, null, 1],
      [CHECK, false, true, '<error>', 0],
      [CHECK, true, false, '', 0],
    ]);
    expect(await migrationRows(prismaClient)).toEqual(rows);
    // Already applied: both refuse (P3008).
    expect(await ourResolve(ours.url, dir.path, '--applied', CHECK)).toMatchObject({ code: 1, stderr: expect.stringContaining('P3008') });
    await expect(oracle.markMigrationApplied(prisma.url, dir.path, CHECK)).rejects.toMatchObject({ code: 'P3008' });

    // Baseline: a database built without migrations, marked as having applied the first one.
    const baseline = await pair();
    for (const client of [baseline.oursClient, baseline.prismaClient]) await client.query(failingHistory[ACCOUNTS]);
    expect(await ourResolve(baseline.ours.url, dir.path, '--applied', ACCOUNTS)).toMatchObject({ code: 0 });
    await oracle.markMigrationApplied(baseline.prisma.url, dir.path, ACCOUNTS);
    for (const { url } of [baseline.ours, baseline.prisma]) expect(await expectSameVerdict(url, dir.path)).toEqual({ ...UP_TO_DATE, pending: [CHECK, NOTE] });
    expect(await migrationRows(baseline.prismaClient)).toEqual(await migrationRows(baseline.oursClient));
    expect(await migrationsTableShape(baseline.prismaClient)).toEqual(await migrationsTableShape(baseline.oursClient));
  });
});

const A = '20240101000000_a';
const B = '20240102000000_b';
const C = '20240103000000_c';
const threeMigrations = {
  [A]: '-- CreateTable\nCREATE TABLE "a" (\n    "id" SERIAL NOT NULL,\n    CONSTRAINT "a_pkey" PRIMARY KEY ("id")\n);\n',
  [B]: '-- AlterTable\nALTER TABLE "a" ADD COLUMN "b" TEXT;\n\n-- CreateIndex\nCREATE INDEX "a_b_idx" ON "a"("b");\n',
  [C]: '-- AlterTable\nALTER TABLE "a" ADD COLUMN "c" INTEGER;\n',
};

describe('local folders that no longer match the database', () => {
  let dir: MigrationsDir;
  afterEach(() => dir?.remove());

  it('an applied migration edited afterwards is reported by both; one re-saved with CRLF line endings by neither', async () => {
    dir = await MigrationsDir.create(threeMigrations);
    const { ours, prisma } = await deployBothWays(dir.path, [A, B, C]);

    await writeFile(join(dir.path, A, 'migration.sql'), `${threeMigrations[A]}-- edited after it was applied\n`);
    await writeFile(join(dir.path, B, 'migration.sql'), threeMigrations[B].replace(/\n/g, '\r\n'));
    for (const { url } of [ours, prisma]) expect(await expectSameVerdict(url, dir.path)).toEqual({ ...UP_TO_DATE, edited: [A] });
    // Deploy ignores edited migrations on both sides.
    expect(await oracle.applyMigrations(ours.url, dir.path)).toEqual([]);
    expect(await ourDeploy(prisma.url, dir.path)).toMatchObject({ code: 0, applied: [] });
  });

  it('an applied migration missing locally, then a new one beside it (histories diverge)', async () => {
    dir = await MigrationsDir.create(threeMigrations);
    const { ours, prisma, oursClient, prismaClient } = await deployBothWays(dir.path, [A, B, C]);

    await rm(join(dir.path, C), { recursive: true });
    for (const { url } of [ours, prisma]) expect(await expectSameVerdict(url, dir.path)).toEqual({ ...UP_TO_DATE, databaseOnly: [C] });

    const D = '20240104000000_d';
    await dir.add({ [D]: 'ALTER TABLE "a" ADD COLUMN "d" BOOLEAN;\n' });
    const diverged: StatusVerdict = { ...UP_TO_DATE, pending: [D], databaseOnly: [C], lastCommon: B };
    for (const { url } of [ours, prisma]) expect(await expectSameVerdict(url, dir.path)).toEqual(diverged);

    // Deploy applies the new one and ignores the missing one, on both sides.
    expect(await ourDeploy(ours.url, dir.path)).toMatchObject({ code: 0, applied: [D] });
    expect(await oracle.applyMigrations(prisma.url, dir.path)).toEqual([D]);
    for (const { url } of [ours, prisma]) expect(await expectSameVerdict(url, dir.path)).toEqual({ ...UP_TO_DATE, databaseOnly: [C] });
    expect(await oracle.applyMigrations(ours.url, dir.path)).toEqual([]);
    expect(await ourDeploy(prisma.url, dir.path)).toMatchObject({ code: 0, applied: [] });
    expect(await migrationRows(prismaClient)).toEqual(await migrationRows(oursClient));
  });
});

describe('the oracle fails when our row is wrong', () => {
  let dir: MigrationsDir;
  let both: Awaited<ReturnType<typeof deployBothWays>>;
  beforeAll(async () => {
    dir = await MigrationsDir.create(threeMigrations);
    both = await deployBothWays(dir.path, [A, B, C]);
  });
  afterAll(() => dir?.remove());
  beforeEach(() => both.oursClient.query(`CREATE TEMP TABLE saved AS SELECT * FROM "_prisma_migrations"`));
  afterEach(() => both.oursClient.query(`DELETE FROM "_prisma_migrations"; INSERT INTO "_prisma_migrations" SELECT * FROM saved; DROP TABLE saved`));

  it.each<[string, string, StatusVerdict]>([
    ['a checksum changed by hand: edited', `UPDATE "_prisma_migrations" SET checksum = repeat('0', 64) WHERE migration_name = '${A}'`, { ...UP_TO_DATE, edited: [A] }],
    ['finished_at never written (an interrupted migration): failed', `UPDATE "_prisma_migrations" SET finished_at = NULL WHERE migration_name = '${B}'`, { ...UP_TO_DATE, failed: [B] }],
    ['rolled_back_at on an applied row: pending again', `UPDATE "_prisma_migrations" SET rolled_back_at = finished_at WHERE migration_name = '${B}'`, { ...UP_TO_DATE, pending: [B] }],
    [
      'a misspelt name: diverged',
      `UPDATE "_prisma_migrations" SET migration_name = migration_name || 'x' WHERE migration_name = '${C}'`,
      { ...UP_TO_DATE, pending: [C], databaseOnly: [`${C}x`], lastCommon: B },
    ],
    ['applied_steps_count left at 0: status cannot tell, the row comparison does', `UPDATE "_prisma_migrations" SET applied_steps_count = 0 WHERE migration_name = '${A}'`, UP_TO_DATE],
  ])('%s', async (_name, corruption, verdict) => {
    const reference = await migrationRows(both.prismaClient);
    expect(await migrationRows(both.oursClient)).toEqual(reference);

    await both.oursClient.query(corruption);

    expect(await expectSameVerdict(both.ours.url, dir.path)).toEqual(verdict);
    expect(await migrationRows(both.oursClient)).not.toEqual(reference);
  });
});
