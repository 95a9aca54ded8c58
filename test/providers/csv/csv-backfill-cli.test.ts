import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';
import { sessionBars } from '../../helpers/market-session-bars.js';
import { writeProviderTestConfig } from '../../helpers/provider-test-config.js';
import { useTempDir } from '../../helpers/temp-dir.js';
import { STORAGE_KINDS, useTestStorage } from '../../helpers/test-storage.js';

const tempDir = useTempDir();
const FROM = Date.parse('2024-01-02T00:00:00Z');
const TO = Date.parse('2024-01-20T00:00:00Z');

/** A vendor-style file: New York wall-clock times without a zone, one symbol per file. */
function vendorFile(symbol: string): string {
  const lines = ['Date Time;Open;High;Low;Close;Volume'];
  for (const bar of sessionBars(symbol, 'minute', FROM, TO - 1)) {
    const wall = new Date(bar.t - 5 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    lines.push(`${wall};${bar.o};${bar.h};${bar.l};${bar.c};${bar.v}`);
  }
  return `${lines.join('\n')}\n`;
}

describe.each(STORAGE_KINDS)('mdp backfill from csv files into %s', (kind) => {
  const storage = useTestStorage(kind);

  it('stores every row of every file, in chunks, and records unreadable rows with file:line', async () => {
    const dir = tempDir();
    const data = join(dir, 'vendor');
    mkdirSync(data);
    writeFileSync(join(data, 'AAPL.csv'), vendorFile('AAPL'));
    // One broken row in the gzipped file, on line 3.
    const spy = vendorFile('SPY').split('\n');
    spy.splice(2, 0, '2024-01-02 09:31:30;oops;1;1;1;1');
    writeFileSync(join(data, 'SPY.csv.gz'), gzipSync(spy.join('\n')));

    const config = writeProviderTestConfig(
      dir,
      kind,
      {
        type: 'csv',
        path: data,
        delimiter: ';',
        columns: {
          ts: 'Date Time',
          open: 'Open',
          high: 'High',
          low: 'Low',
          close: 'Close',
          volume: 'Volume',
        },
        timestamp: { format: 'iso', time_zone: 'America/New_York' },
        // Chunks of 2,000 minutes: a dozen chunks per symbol over the window.
        max_bars_per_request: 2000,
      },
      {
        minutes: {
          symbols: ['AAPL', 'SPY'],
          interval: '1m',
          start: '2024-01-02',
          end: '2024-01-20',
        },
      },
    );
    const result = await runCli(['backfill', '--config', config, '--job', 'minutes']);
    expect(result.code, result.stderr).toBe(0);
    const perSymbol = sessionBars('AAPL', 'minute', FROM, TO - 1).length;
    expect(result.stdout).toContain(
      `success: ${(2 * perSymbol).toLocaleString('en-US')} rows written, 1 rejected`,
    );
    expect((await storage.barSnapshot(dir)).perSymbol).toEqual({ AAPL: perSymbol, SPY: perSymbol });
    expect(await storage.countRows(dir, 'bars_rejected')).toBe(1);
    expect(await storage.checkpointedRows(dir)).toBe(2 * perSymbol);
  });
});

/** The half hours of New York's 2024-11-03, clocks back at 02:00 EDT: 25 hours, 50 bars. */
const FALL_BACK_START = Date.parse('2024-11-03T04:00:00Z');
const FALL_BACK_END = Date.parse('2024-11-04T05:00:00Z');
const HALF_HOUR = 1_800_000;
/** The second 01:00 of the day (EST), when clocks have gone back. */
const SECOND_ONE_AM = Date.parse('2024-11-03T06:00:00Z');
/** How far apart the csv provider's seek points are: one must land on SECOND_ONE_AM's row. */
const SEEK_SPACING = 1 << 20;

/**
 * Naive New York times, half-hourly from 2024-10-20 to 2024-11-05, oldest first: the repeated
 * 01:00 and 01:30 of 2024-11-03 appear twice, told apart only by their order. A padding column
 * puts the file's first seek point exactly on the second 01:00, so a chunk whose window starts
 * there reads from that row without having seen the first 01:00 and 01:30.
 */
function fallBackFile(): string {
  const header = 'time,open,high,low,close,volume,note';
  const times: number[] = [];
  for (let ts = Date.parse('2024-10-20T04:00:00Z'); ts < Date.parse('2024-11-05T05:00:00Z');) {
    times.push(ts);
    ts += HALF_HOUR;
  }
  const rows = times.map((ts, i) => {
    const offset = ts < SECOND_ONE_AM ? 4 : 5;
    const wall = new Date(ts - offset * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    const price = 100 + (i % 50);
    return `${wall},${price},${price + 1},${price - 1},${price + 0.5},${1000 + i},`;
  });
  const fold = times.indexOf(SECOND_ONE_AM);
  const pad = Math.floor((SEEK_SPACING - 4096) / fold);
  for (let i = 0; i < fold; i++) rows[i] += 'x'.repeat(pad - (rows[i] as string).length);
  const before = rows.slice(0, fold - 1).reduce((sum, row) => sum + row.length + 1, 0);
  rows[fold - 1] += 'x'.repeat(SEEK_SPACING - before - 1 - (rows[fold - 1] as string).length);
  return `${[header, ...rows].join('\n')}\n`;
}

/**
 * The 50 naive New York half hours of 2024-11-03 newest first, as some vendors write them; the
 * i-th half hour of the day (oldest first) has volume 1000 + i.
 */
function descendingFallBackFile(): string {
  const rows: string[] = [];
  for (let ts = FALL_BACK_START, i = 0; ts < FALL_BACK_END; ts += HALF_HOUR, i++) {
    const offset = ts < SECOND_ONE_AM ? 4 : 5;
    const wall = new Date(ts - offset * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    rows.push(`${wall},100,101,99,100.5,${1000 + i}`);
  }
  return `time,open,high,low,close,volume\n${rows.reverse().join('\n')}\n`;
}

/** A csv provider reading the naive New York `time` column of the files in `data`. */
function newYorkCsv(data: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'csv',
    path: data,
    columns: {
      ts: 'time',
      open: 'open',
      high: 'high',
      low: 'low',
      close: 'close',
      volume: 'volume',
    },
    timestamp: { format: 'iso', time_zone: 'America/New_York' },
    ...extra,
  };
}

const FALL_BACK_JOB = {
  fall_back: {
    symbols: ['SPY'],
    interval: '30m',
    start: '2024-11-03T04:00:00Z',
    end: '2024-11-04T05:00:00Z',
  },
};

describe.each(STORAGE_KINDS)('naive local times across the fall-back hour, into %s', (kind) => {
  const storage = useTestStorage(kind);

  /**
   * Backfills the fall-back day from `file` (as SPY.csv) and checks that it succeeds with all 50
   * half hours, nothing rejected; returns the stored bars' volumes in ts order.
   */
  async function backfillFallBackDay(file: string, extra: Record<string, unknown> = {}) {
    const dir = tempDir();
    const data = join(dir, 'vendor');
    mkdirSync(data);
    writeFileSync(join(data, 'SPY.csv'), file);
    const config = writeProviderTestConfig(dir, kind, newYorkCsv(data, extra), FALL_BACK_JOB);
    const result = await runCli(['backfill', '--config', config, '--job', 'fall_back']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('success: 50 rows written, 0 rejected');
    expect(await storage.countRows(dir, 'bars_rejected')).toBe(0);
    // Rows in ts order, each [provider, symbol, interval, ts, open, high, low, close, volume, …].
    const rows = JSON.parse((await storage.barSnapshot(dir)).digest) as unknown[][];
    const expected: number[] = [];
    for (let ts = FALL_BACK_START; ts < FALL_BACK_END; ts += HALF_HOUR) expected.push(ts);
    expect(rows.map((row) => Number(row[3]))).toEqual(expected);
    return rows.map((row) => Number(row[8]));
  }

  it('the repeated hour is told apart by row order: each of the 25 hours stored once, nothing rejected', async () => {
    // One-hour chunks: the one from 06:00Z starts reading at the seek point on the second 01:00.
    const volumes = await backfillFallBackDay(fallBackFile(), { max_bars_per_request: 2 });
    // Volume counts the file's rows: the bars follow the file's order, the EST hour after the EDT one.
    expect(volumes).toEqual(volumes.map((_, i) => (volumes[0] as number) + i));
  });

  it('a file newest first: each of the 50 half hours stored once with its own row, nothing rejected', async () => {
    const volumes = await backfillFallBackDay(descendingFallBackFile());
    // Each instant holds its own row's volume (the day's i-th half hour has volume 1000 + i).
    expect(volumes).toEqual(volumes.map((_, i) => 1000 + i));
  });
});
