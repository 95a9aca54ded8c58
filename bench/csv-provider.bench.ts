/**
 * The CSV provider on a large file: generates a ~1 GB CSV of 1-minute bars (one symbol, ISO times)
 * in a temp dir, then reads it the way a backfill does, window after window of
 * max_bars_per_request bars, in this process. Prints bars/s, MB/s, the time of the first window
 * (which indexes the file) and the peak RSS: memory stays bounded whatever the file's size.
 *
 *   npm run bench -- --csv                        # ~1 GB
 *   MDP_BENCH_CSV_MB=200 npm run bench -- --csv   # smaller
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvProviderSchema } from '../src/core/config/config-schema.js';
import { toFetchResult } from '../src/core/provider.js';
import { CsvProvider } from '../src/providers/csv/csv-provider.js';
import { readLines } from '../src/providers/csv/csv-line-reader.js';

const TARGET_BYTES = Number(process.env.MDP_BENCH_CSV_MB ?? 1024) * 1024 * 1024;
const MAX_BARS = 100_000;
const MINUTE = 60_000;
const START = Date.parse('1990-01-01T00:00:00Z');

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0);

/** Writes rows until the file reaches the target size; returns the number of rows. */
async function generate(file: string): Promise<number> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  out.write('timestamp,open,high,low,close,volume,vwap,trades\n');
  let bytes = 0;
  let rows = 0;
  let price = 100;
  while (bytes < TARGET_BYTES) {
    let block = '';
    for (let i = 0; i < 10_000; i++) {
      const ts = new Date(START + rows * MINUTE).toISOString().replace('.000Z', 'Z');
      const open = price;
      price = Math.max(1, Math.round((price + ((rows * 7919) % 21) / 100 - 0.1) * 100) / 100);
      const high = Math.max(open, price) + 0.05;
      const low = Math.min(open, price) - 0.05;
      block += `${ts},${open},${high.toFixed(2)},${low.toFixed(2)},${price},${1000 + (rows % 5000)},${((high + low) / 2).toFixed(4)},${10 + (rows % 90)}\n`;
      rows += 1;
    }
    bytes += Buffer.byteLength(block);
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return rows;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mdp-csv-bench-'));
  try {
    const file = join(dir, 'BENCH.csv');
    let started = performance.now();
    const rows = await generate(file);
    const size = statSync(file).size;
    console.log(
      `generated ${mb(size)} MB, ${fmt(rows)} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const rssBefore = process.memoryUsage().rss;

    // Reference: the bare line scan of the same file (no parsing).
    started = performance.now();
    let lines = 0;
    await readLines(
      { path: file, gzip: false, offset: 0, line: 1, signal: new AbortController().signal },
      () => {
        lines += 1;
        return true;
      },
    );
    const scanSeconds = (performance.now() - started) / 1000;
    console.log(
      `line scan alone: ${fmt(lines / scanSeconds)} lines/s, ${fmt(size / 1024 / 1024 / scanSeconds)} MB/s`,
    );

    const provider = new CsvProvider(
      'csv_bench',
      csvProviderSchema.parse({
        type: 'csv',
        path: dir,
        columns: { vwap: 'vwap', trade_count: 'trades' },
        max_bars_per_request: MAX_BARS,
      }),
    );
    let peakRss = 0;
    const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    const end = START + rows * MINUTE;
    const chunk = MAX_BARS * MINUTE;
    let bars = 0;
    let windows = 0;
    let firstWindowSeconds = 0;
    started = performance.now();
    for (let from = START; from < end; from += chunk) {
      const result = toFetchResult(
        await provider.fetchBars(
          { symbol: 'BENCH', interval: '1m', start: from, end: Math.min(end, from + chunk) },
          new AbortController().signal,
        ),
      );
      if (windows === 0) firstWindowSeconds = (performance.now() - started) / 1000;
      bars += result.bars.length;
      windows += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sample);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (bars !== rows) throw new Error(`read ${bars} bars of ${rows} rows`);
    console.log(
      `csv provider: ${fmt(bars)} bars in ${windows} windows of ${fmt(MAX_BARS)} in ${seconds.toFixed(1)} s: ` +
        `${fmt(bars / seconds)} bars/s, ${fmt(size / 1024 / 1024 / seconds)} MB/s ` +
        `(first window, which indexes the file: ${firstWindowSeconds.toFixed(1)} s)`,
    );
    console.log(
      `peak RSS ${mb(peakRss)} MB (${mb(rssBefore)} MB before reading; the file is ${mb(size)} MB); ` +
        `process maxRSS ${mb(process.resourceUsage().maxRSS * 1024)} MB`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
