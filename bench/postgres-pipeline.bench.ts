/**
 * Throughput into PostgreSQL, three ways over the same bars and the same server, each into a
 * fresh table and again over the rows it wrote (every bar a conflict):
 *
 *   e2e    `mdp backfill` end to end (synthetic → PostgresStore, a child process; `--force` for
 *          the rerun), process start to exit
 *   raw    binary COPY into the staging table + one INSERT … SELECT … ON CONFLICT DO UPDATE per
 *          1,000 bars, one transaction each: the store's write path without the pipeline
 *   naive  a multi-row INSERT … VALUES … ON CONFLICT DO UPDATE of 1,000 bars per statement
 *
 * raw and naive write over as many connections as the e2e run writes at once (its concurrency,
 * 2), each taking every other batch, and are timed from first write to last; raw also reports
 * how its connections' time splits into encode / COPY / upsert / commit.
 *
 *   npm run bench -- --store postgres                         # 2,000,000 bars, embedded server
 *   MDP_BENCH_BARS=500000 npm run bench -- --store postgres   # smaller
 *   MDP_BENCH_PG_URL=postgresql://… npm run bench -- --store postgres   # an existing server
 *
 * The embedded server runs with PostgreSQL's defaults (fsync on): durable commits, as in production.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { finished } from 'node:stream/promises';
import { stringify } from 'yaml';
import type { Bar } from '../src/core/bar.js';
import { SyntheticSeries } from '../src/providers/synthetic/synthetic-series.js';
import { PostgresCopyEncoder } from '../src/store/postgres/postgres-copy-encoder.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../test/helpers/embedded-postgres.js';

const BARS = Number(process.env.MDP_BENCH_BARS ?? 2_000_000);
const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE'];
const BATCH = 1000;
const START = Date.parse('2020-01-01T00:00:00Z');
const perSymbol = Math.ceil(BARS / SYMBOLS.length);
const END = START + perSymbol * 60_000;
const MDP = fileURLToPath(new URL('../bin/mdp.js', import.meta.url));
/** Writers at once: the e2e job's concurrency, and the connections raw and naive use. */
const CONCURRENCY = 2;
const COLUMNS = 'provider, symbol, interval, ts, open, high, low, close, volume, vwap, trade_count';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The bars every phase writes, batch by batch; `lane` of CONCURRENCY takes every other one. */
function* batches(lane: number): Generator<Bar[]> {
  let index = 0;
  for (const symbol of SYMBOLS) {
    const series = new SyntheticSeries(42, symbol, '1m');
    for (let offset = 0; offset < perSymbol; offset += BATCH) {
      if (index++ % CONCURRENCY !== lane) continue;
      yield series.bars('synth', START + offset * 60_000, Math.min(BATCH, perSymbol - offset));
    }
  }
}

/** Runs `lane` on CONCURRENCY connections at once; wall time from first to last write. */
async function onConnections(
  url: string,
  lane: (client: pg.Client, lane: number) => Promise<number>,
): Promise<Timed> {
  const clients = await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      // The store's connection settings: exact float output, the server's defaults otherwise.
      const client = new pg.Client({ connectionString: url, options: '-c extra_float_digits=3' });
      await client.connect();
      return client;
    }),
  );
  try {
    const started = performance.now();
    const rows = await Promise.all(clients.map((client, i) => lane(client, i)));
    return { seconds: (performance.now() - started) / 1000, rows: rows.reduce((a, b) => a + b) };
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

/** A fresh schema with the store's tables (created by the store's own migrations). */
async function freshSchema(url: string, schema: string): Promise<void> {
  const store = new PostgresStore({ uri: url, schema });
  await store.open();
  await store.close();
}

function peakRss(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface Timed {
  readonly seconds: number;
  readonly rows: number;
}

async function endToEnd(
  url: string,
  dir: string,
  rerun: boolean,
): Promise<Timed & { rssBytes: number }> {
  const config = {
    version: 2,
    providers: { synth: { type: 'synthetic', seed: 42, max_bars_per_request: 50_000 } },
    storage: {
      primary: { type: 'postgres', uri: url, schema: 'bench_e2e', write: { batch_size: BATCH } },
    },
    datasets: { bench: { provider: 'synth', symbols: SYMBOLS, interval: '1m' } },
    jobs: {
      bench_backfill: {
        dataset: 'bench',
        mode: 'backfill',
        backfill: { start: new Date(START).toISOString(), end: new Date(END).toISOString() },
        execution: { concurrency: CONCURRENCY },
      },
    },
    telemetry: { log_level: 'warn', metrics: { enabled: false } },
  };
  const file = join(dir, 'bench.yaml');
  writeFileSync(file, stringify(config));
  const args = [MDP, 'backfill', '--config', file, '--job', 'bench_backfill'];
  const started = performance.now();
  const child = spawn(process.execPath, rerun ? [...args, '--force'] : args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  let rss = 0;
  const poll = setInterval(() => (rss = Math.max(rss, peakRss(child.pid ?? 0))), 50);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(poll);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`mdp backfill exited ${code}: ${stdout}`);
  const rows = Number(/([\d,]+) rows written/.exec(stdout)?.[1]?.replace(/,/g, ''));
  return { seconds, rows, rssBytes: rss };
}

/** Seconds spent in each step of the raw path. */
interface RawSplit {
  encode: number;
  copy: number;
  upsert: number;
  commit: number;
}

async function rawCopyUpsert(url: string): Promise<Timed & { split: RawSplit }> {
  const split: RawSplit = { encode: 0, copy: 0, upsert: 0, commit: 0 };
  const upsert = {
    name: 'bench_upsert',
    text: `INSERT INTO bench_raw.bars_ohlcv (${COLUMNS}, run_id, ingested_at)
      SELECT ${COLUMNS}, $1::bigint, 'epoch'::timestamptz + $2::bigint * interval '1 millisecond'
      FROM pg_temp.mdp_staging_bars
      ON CONFLICT (provider, symbol, interval, ts) DO UPDATE SET open = EXCLUDED.open,
        high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
        volume = EXCLUDED.volume, vwap = EXCLUDED.vwap, trade_count = EXCLUDED.trade_count,
        run_id = EXCLUDED.run_id, ingested_at = EXCLUDED.ingested_at`,
  };
  const timed = await onConnections(url, async (client, lane) => {
    const encoder = new PostgresCopyEncoder();
    await client.query(`CREATE TEMP TABLE mdp_staging_bars (
      provider text, symbol text, interval text, ts timestamptz, open float8, high float8,
      low float8, close float8, volume float8, vwap float8, trade_count int8
    ) ON COMMIT DELETE ROWS`);
    let rows = 0;
    for (const bars of batches(lane)) {
      let at = performance.now();
      const lap = (step: keyof RawSplit): void => {
        const now = performance.now();
        split[step] += (now - at) / 1000;
        at = now;
      };
      const data = encoder.encode(bars, undefined);
      lap('encode');
      await client.query('BEGIN');
      const copy = client.query(
        copyFrom(`COPY pg_temp.mdp_staging_bars (${COLUMNS}) FROM STDIN (FORMAT binary)`),
      );
      copy.end(data);
      await finished(copy);
      lap('copy');
      await client.query({ ...upsert, values: [1, Date.now()] });
      lap('upsert');
      await client.query('COMMIT');
      lap('commit');
      rows += bars.length;
    }
    return rows;
  });
  return { ...timed, split };
}

async function naiveInsert(url: string): Promise<Timed> {
  const statements = new Map<number, string>();
  return onConnections(url, async (client, lane) => {
    let rows = 0;
    for (const bars of batches(lane)) {
      let text = statements.get(bars.length);
      if (text === undefined) {
        const values = bars.map((_, i) => {
          const p = i * 13;
          return `(${Array.from({ length: 13 }, (_, j) => `$${p + j + 1}`).join(', ')})`;
        });
        text = `INSERT INTO bench_naive.bars_ohlcv (${COLUMNS}, run_id, ingested_at)
          VALUES ${values.join(', ')}
          ON CONFLICT (provider, symbol, interval, ts) DO UPDATE SET open = EXCLUDED.open,
            high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
            volume = EXCLUDED.volume, vwap = EXCLUDED.vwap, trade_count = EXCLUDED.trade_count,
            run_id = EXCLUDED.run_id, ingested_at = EXCLUDED.ingested_at`;
        statements.set(bars.length, text);
      }
      const now = new Date();
      const params: unknown[] = [];
      for (const b of bars) {
        params.push(b.provider, b.symbol, b.interval, new Date(b.ts), b.open, b.high, b.low);
        params.push(b.close, b.volume, b.vwap, b.tradeCount, 1, now);
      }
      await client.query(text, params);
      rows += bars.length;
    }
    return rows;
  });
}

async function withClient<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  // The store's connection settings: exact float output; everything else the server's default.
  const client = new pg.Client({ connectionString: url, options: '-c extra_float_digits=3' });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

const rate = (t: Timed): number => t.rows / t.seconds;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mdp-bench-'));
  let server: EmbeddedServer | undefined;
  try {
    const url = process.env.MDP_BENCH_PG_URL ?? (server = await startEmbeddedPostgres()).url;
    const version = await withClient(
      url,
      async (c) =>
        (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v,
    );
    console.log(
      `synthetic → PostgreSQL ${version}, ${fmt(SYMBOLS.length * perSymbol)} bars of 1m, ` +
        `batch ${BATCH}, ${CONCURRENCY} writers, node ${process.version}` +
        `${server ? ', embedded server (fsync on)' : ''}`,
    );
    await withClient(url, (c) =>
      c.query('DROP SCHEMA IF EXISTS bench_e2e, bench_raw, bench_naive CASCADE'),
    );
    for (const schema of ['bench_e2e', 'bench_raw', 'bench_naive']) await freshSchema(url, schema);

    const results: Record<string, { fresh: Timed; rerun: Timed }> = {};
    const e2eFresh = await endToEnd(url, dir, false);
    const e2eRerun = await endToEnd(url, dir, true);
    results.e2e = { fresh: e2eFresh, rerun: e2eRerun };
    const rawFresh = await rawCopyUpsert(url);
    const rawRerun = await rawCopyUpsert(url);
    results.raw = { fresh: rawFresh, rerun: rawRerun };
    results.naive = { fresh: await naiveInsert(url), rerun: await naiveInsert(url) };

    const label = {
      e2e: 'mdp backfill end to end     ',
      raw: 'raw COPY + INSERT … SELECT  ',
      naive: 'naive INSERT 1,000 rows/stmt',
    } as const;
    for (const phase of ['fresh', 'rerun'] as const) {
      console.log(
        `\n${phase === 'fresh' ? 'fresh table' : 'rerun over existing rows (all conflicts)'}:`,
      );
      const reference = rate(results.raw![phase]);
      for (const key of ['e2e', 'raw', 'naive'] as const) {
        const t = results[key]![phase];
        console.log(
          `  ${label[key]}: ${fmt(t.rows)} rows in ${t.seconds.toFixed(2)} s = ` +
            `${fmt(rate(t))} bars/s  (${((rate(t) / reference) * 100).toFixed(0)}% of raw)`,
        );
      }
    }
    for (const [phase, t] of [
      ['fresh', rawFresh],
      ['rerun', rawRerun],
    ] as const) {
      const s = t.split;
      const total = s.encode + s.copy + s.upsert + s.commit;
      const share = (x: number): string => `${((x / total) * 100).toFixed(0)}%`;
      console.log(
        `\nraw ${phase}, where the time goes: encode ${share(s.encode)}, COPY ${share(s.copy)}, ` +
          `INSERT … ON CONFLICT ${share(s.upsert)}, COMMIT ${share(s.commit)}`,
      );
    }
    console.log(`\nmdp peak RSS (fresh): ${(e2eFresh.rssBytes / 2 ** 20).toFixed(0)} MB`);
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
