/**
 * Cost of one take from a provider budget shared through the store (ProviderBudgets), against a
 * reference measured in the same run on the same machine:
 *
 *   sqlite     takes through SqliteStore.budgets (one BEGIN IMMEDIATE transaction each), against
 *              an in-process TokenBucket take and a `SELECT 1` on a better-sqlite3 connection
 *   postgres   takes through PostgresStore.budgets (one transaction each), one at a time and from
 *              three stores at once (three processes' pools on one row), against a `SELECT 1`
 *              round trip on a connection to the same server
 *
 * Every take is granted (a rate far above the loop), so each one writes its row: the costly path.
 *
 *   npm run bench -- --budget                                  # SQLite only
 *   MDP_BENCH_PG_URL=postgresql://… npm run bench -- --budget  # and PostgreSQL (or MDP_TEST_PG_URL)
 *   MDP_BENCH_TAKES=20000 npm run bench -- --budget            # more takes
 *   MDP_BENCH_PG_DELAY_MS=5 MDP_BENCH_TAKES=300 npm run bench -- --budget
 *        # PostgreSQL 5 ms further away (a proxy delays each chunk sent to it): a take's round trips
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { BucketRate } from '../src/core/bucket-level.js';
import { sharedBucketRate } from '../src/pipeline/policies/store-token-bucket.js';
import { TokenBucket } from '../src/pipeline/policies/token-bucket.js';
import { systemTiming } from '../src/pipeline/timing.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteDatabase } from '../src/store/sqlite/sqlite-driver.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import type { TcpProxy } from '../test/helpers/tcp-proxy.js';
import { delayProxy } from './delay-proxy.js';

const TAKES = Number(process.env.MDP_BENCH_TAKES ?? 5000);
const PG_URL = process.env.MDP_BENCH_PG_URL ?? process.env.MDP_TEST_PG_URL;
const PG_DELAY_MS = Number(process.env.MDP_BENCH_PG_DELAY_MS ?? 0);
/** Far above any loop here: every take is granted and written. */
const RATE: BucketRate = sharedBucketRate(1_000_000, 1e12);

/** Operations per second of `count` sequential calls of `op`. */
async function perSecond(count: number, op: () => unknown): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) await op();
  return count / ((performance.now() - started) / 1000);
}

async function takesPerSecond(store: Store, count: number): Promise<number> {
  return perSecond(count, async () => {
    const take = await store.budgets.take('bench', RATE);
    if (!take.granted) throw new Error('a take was refused: the bench rate is too low');
  });
}

const rows: [string, number, string, number][] = [];
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const dir = mkdtempSync(join(tmpdir(), 'mdp-budget-bench-'));
try {
  const bucket = new TokenBucket({ burst: 1_000_000, requestsPerMinute: 1e12 }, systemTiming);
  const inProcess = await perSecond(TAKES * 20, () => bucket.acquire());

  const path = join(dir, 'budget.db');
  const sqlite = new SqliteStore({ path });
  await sqlite.open();
  await takesPerSecond(sqlite, 100); // warm-up
  const sqliteTakes = await takesPerSecond(sqlite, TAKES);
  await sqlite.close();
  const raw = new SqliteDatabase(path);
  const select = raw.prepare('SELECT 1');
  const sqliteSelect = await perSecond(TAKES, () => select.get());
  raw.close();
  rows.push(['sqlite take', sqliteTakes, 'in-process TokenBucket take', inProcess]);
  rows.push(['sqlite take', sqliteTakes, 'sqlite SELECT 1', sqliteSelect]);

  if (PG_URL !== undefined) {
    const schema = `mdp_bench_${randomBytes(6).toString('hex')}`;
    const proxy: TcpProxy | undefined =
      PG_DELAY_MS > 0 ? await delayProxy(PG_URL, PG_DELAY_MS) : undefined;
    const url = proxy?.url ?? PG_URL;
    const stores = [0, 1, 2].map(() => new PostgresStore({ uri: url, schema }));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const store of stores) await store.open();
      const [first] = stores as [PostgresStore];
      await takesPerSecond(first, 100);
      const pgTakes = await takesPerSecond(first, TAKES);
      const started = performance.now();
      const third = Math.ceil(TAKES / 3);
      await Promise.all(stores.map((store) => takesPerSecond(store, third)));
      const pgContended = (3 * third) / ((performance.now() - started) / 1000);
      const pgSelect = await perSecond(TAKES, () => client.query('SELECT 1'));
      rows.push(['postgres take', pgTakes, 'postgres SELECT 1 round trip', pgSelect]);
      rows.push(['postgres take, 3 stores at once', pgContended, 'postgres SELECT 1', pgSelect]);
    } finally {
      for (const store of stores) await store.close();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
      await proxy?.close();
    }
  } else {
    console.log('PostgreSQL skipped: set MDP_BENCH_PG_URL (or MDP_TEST_PG_URL) to measure it.');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const delay = PG_DELAY_MS > 0 ? `; PostgreSQL through a +${PG_DELAY_MS} ms proxy` : '';
console.log(`provider budget takes (${fmt(TAKES)} per measure, each granted and written${delay})`);
for (const [what, rate, reference, referenceRate] of rows) {
  console.log(
    `  ${what.padEnd(32)} ${fmt(rate).padStart(9)}/s   ${reference.padEnd(30)} ${fmt(referenceRate).padStart(11)}/s   ratio ${(rate / referenceRate).toFixed(3)}`,
  );
}
