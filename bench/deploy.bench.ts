/**
 * npm run bench:deploy — prints numbers, asserts nothing.
 * 1. Deploys a generated 300-migration history with the engine and applies the same files with one
 *    simple-query call per file (one per statement for files with non-transactional statements) on one
 *    connection, on fresh databases of a durable (fsync on) embedded PostgreSQL; best and median of N runs.
 * 2. Times `status` on a 1,000-migration history: in process, and as a CLI process (wall time).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startLocalPostgres } from '../bin/local-postgres';
import { connect } from '../lambdas/adapters/pg';
import { loadMigrations } from '../lambdas/adapters/fs-source';
import { deploy, resolve, status } from '../lambdas/core/migrations';
import { loadParser, splitSql } from '../lambdas/core/migrations/sql';
import { applyOneCallPerFile, generateHistory, writeHistory } from '../test/helpers/history';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function urlFor(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const server = await startLocalPostgres();
  const dir = await mkdtemp(join(tmpdir(), 'mr-bench-'));
  const admin = new Client({ connectionString: server.url });
  await admin.connect();
  try {
    await loadParser();
    const history = generateHistory(300);
    await writeHistory(join(dir, 'h300'), history);
    const migrations = await loadMigrations(join(dir, 'h300'));
    const ours: number[] = [];
    const reference: number[] = [];
    const roundTrips = { ours: 0, reference: 0 };
    for (let run = 0; run < RUNS; run++) {
      // Alternate the order so neither side always runs on a warmer server.
      for (const side of run % 2 === 0 ? ['ours', 'reference'] : ['reference', 'ours']) {
        const name = `bench_${side}_${run}`;
        await admin.query(`CREATE DATABASE ${name}`);
        if (side === 'ours') {
          const db = await connect(urlFor(server.url, name));
          const counted = { pid: db.pid, onNotice: db.onNotice?.bind(db), query: (sql: string, params?: readonly unknown[]) => (roundTrips.ours++, db.query(sql, params)) };
          const t0 = performance.now();
          await deploy(counted as typeof db, migrations);
          ours.push(performance.now() - t0);
          await db.close();
        } else {
          const client = new Client({ connectionString: urlFor(server.url, name) });
          await client.connect();
          const t0 = performance.now();
          await applyOneCallPerFile((sql) => (roundTrips.reference++, client.query(sql)), history, (sql) => splitSql(sql).map((s) => s.text));
          reference.push(performance.now() - t0);
          await client.end();
        }
        await admin.query(`DROP DATABASE ${name}`);
      }
    }
    const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms, best ${Math.min(...xs).toFixed(0)} ms`;
    console.log(`deploy 300 migrations (${RUNS} runs, fsync on):`);
    console.log(`  migration-runner deploy     ${fmt(ours)}`);
    console.log(`  one call per file           ${fmt(reference)}`);
    console.log(`  ratio (median)              ${(median(ours) / median(reference)).toFixed(2)}x   (target <= 1.3x)`);
    console.log(`  round trips per deploy      ${roundTrips.ours / RUNS} vs ${roundTrips.reference / RUNS}`);

    // status on 1,000 migrations: record them applied (resolve --applied is the fast way), then time status.
    const big = generateHistory(1000);
    const bigDir = join(dir, 'h1000');
    await writeHistory(bigDir, big);
    await admin.query('CREATE DATABASE bench_status');
    const statusUrl = urlFor(server.url, 'bench_status');
    const db = await connect(statusUrl);
    const bigMigrations = await loadMigrations(bigDir);
    for (const m of bigMigrations) await resolve(db, bigMigrations, { applied: m.name });
    const s0 = performance.now();
    const inProcess = await status(await connect(statusUrl), await loadMigrations(bigDir));
    const inProcessMs = performance.now() - s0;
    await db.close();
    const c0 = performance.now();
    execFileSync(process.execPath, [join(__dirname, '../bin/migration-runner.js'), 'status', '--migrations', bigDir], {
      env: { ...process.env, DATABASE_URL: statusUrl },
      stdio: 'ignore',
    });
    const cliMs = performance.now() - c0;
    console.log(`status on 1,000 migrations (${inProcess.appliedCount} applied, exit ${inProcess.exitCode}):`);
    console.log(`  in process (read folder + rows + compare)   ${inProcessMs.toFixed(0)} ms`);
    console.log(`  CLI process wall time (incl. Node start)    ${cliMs.toFixed(0)} ms   (target < 1000 ms)`);
  } finally {
    await admin.end();
    await rm(dir, { recursive: true, force: true });
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
