/**
 * Compatibility with Prisma, proven by Prisma's own schema engine (test/helpers/prisma-oracle.ts):
 * after each of our operations the engine's diagnosis equals our `status`; what we deploy, the
 * engine's deploy finds nothing to apply and its diff finds nothing to change; what the engine
 * deploys, ours finds nothing to apply; the rows both write are equal column by column.
 * Each scenario runs our CLI on one database and the engine on another, then each side reads both.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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
