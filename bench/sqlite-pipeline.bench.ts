/**
 * End-to-end throughput of `mdp backfill` (synthetic → SQLite, as a child process, peak RSS read
 * from /proc) beside the reference: raw better-sqlite3 prepared-statement upserts of the same bars
 * into the same schema, in the same run, on the same disk. Prints both and their ratio.
 *
 *   npm run bench                         # 5,000,000 bars
 *   MDP_BENCH_BARS=1000000 npm run bench  # smaller
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteDatabase as Database } from '../src/store/sqlite/sqlite-driver.js';
import { stringify } from 'yaml';
import { SyntheticSeries } from '../src/providers/synthetic/synthetic-series.js';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite/sqlite-migrations.js';
import { migrateSqlite } from '../src/store/sqlite/sqlite-migrate.js';

const BARS = Number(process.env.MDP_BENCH_BARS ?? 5_000_000);
const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE'];
const BATCH = 1000;
const START = Date.parse('2020-01-01T00:00:00Z');
const perSymbol = Math.ceil(BARS / SYMBOLS.length);
const END = START + perSymbol * 60_000;
const MDP = fileURLToPath(new URL('../bin/mdp.js', import.meta.url));

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function peakRss(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function endToEnd(dir: string): Promise<{ seconds: number; rows: number; rssBytes: number }> {
  const config = {
    version: 2,
    providers: { synth: { type: 'synthetic', seed: 42, max_bars_per_request: 50_000 } },
    storage: {
      primary: {
        type: 'sqlite',
        uri: `sqlite:${join(dir, 'e2e.db')}`,
        write: { batch_size: BATCH },
      },
    },
    datasets: { bench: { provider: 'synth', symbols: SYMBOLS, interval: '1m' } },
    jobs: {
      bench_backfill: {
        dataset: 'bench',
        mode: 'backfill',
        backfill: { start: new Date(START).toISOString(), end: new Date(END).toISOString() },
        execution: { concurrency: 2 },
      },
    },
    telemetry: { log_level: 'warn', metrics: { enabled: false } },
  };
  const file = join(dir, 'bench.yaml');
  writeFileSync(file, stringify(config));
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [MDP, 'backfill', '--config', file, '--job', 'bench_backfill'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
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

function rawUpserts(dir: string): { seconds: number; rows: number } {
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrateSqlite(
    db,
    SQLITE_MIGRATIONS,
    { upsertKeys: ['provider', 'symbol', 'interval', 'ts'] },
    Date.now,
  );
  const upsert = db.prepare(`
    INSERT INTO bars_ohlcv (provider, symbol, interval, ts, open, high, low, close, volume, vwap, trade_count, run_id, ingested_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (provider, symbol, interval, ts) DO UPDATE SET
      open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
      volume = excluded.volume, vwap = excluded.vwap, trade_count = excluded.trade_count,
      run_id = excluded.run_id, ingested_at = excluded.ingested_at`);
  let rows = 0;
  let writing = 0;
  for (const symbol of SYMBOLS) {
    const series = new SyntheticSeries(42, symbol, '1m');
    for (let offset = 0; offset < perSymbol; offset += BATCH) {
      const bars = series.bars(
        'synth',
        START + offset * 60_000,
        Math.min(BATCH, perSymbol - offset),
      );
      const started = performance.now();
      const now = Date.now();
      db.transaction(() => {
        for (const b of bars) {
          upsert.run(
            b.provider,
            b.symbol,
            b.interval,
            b.ts,
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            b.vwap,
            b.tradeCount,
            1,
            now,
          );
        }
      })();
      writing += performance.now() - started;
      rows += bars.length;
    }
  }
  db.close();
  return { seconds: writing / 1000, rows };
}

const dir = mkdtempSync(join(tmpdir(), 'mdp-bench-'));
try {
  console.log(
    `synthetic → SQLite, ${fmt(SYMBOLS.length * perSymbol)} bars of 1m, batch ${BATCH}, node ${process.version}`,
  );
  const raw = rawUpserts(dir);
  const e2e = await endToEnd(dir);
  const rawRate = raw.rows / raw.seconds;
  const e2eRate = e2e.rows / e2e.seconds;
  console.log(
    `raw better-sqlite3 upserts : ${fmt(raw.rows)} rows in ${raw.seconds.toFixed(2)} s = ${fmt(rawRate)} bars/s (insert time only)`,
  );
  console.log(
    `mdp backfill end to end    : ${fmt(e2e.rows)} rows in ${e2e.seconds.toFixed(2)} s = ${fmt(e2eRate)} bars/s (process start to exit)`,
  );
  console.log(`ratio end-to-end / raw     : ${((e2eRate / rawRate) * 100).toFixed(1)}%`);
  console.log(`mdp peak RSS               : ${(e2e.rssBytes / 2 ** 20).toFixed(0)} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
