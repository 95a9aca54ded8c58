import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../../src/core/bar.js';
import { csvProviderSchema } from '../../../src/core/config/config-schema.js';
import { PermanentProviderError } from '../../../src/core/errors.js';
import type { Interval } from '../../../src/core/interval.js';
import type { FetchRequest, FetchResult } from '../../../src/core/provider.js';
import { CsvProvider } from '../../../src/providers/csv/csv-provider.js';
import { pipelineFetch } from '../../helpers/pipeline-fetch.js';
import { useTempDir } from '../../helpers/temp-dir.js';

const tempDir = useTempDir();
const MINUTE = 60_000;
const T0 = Date.parse('2024-01-02T14:30:00Z');

/** A row of a generated file: a bar's open time and values derived from its index. */
function row(
  i: number,
  start = T0,
  step = MINUTE,
): { ts: number; o: number; h: number; l: number; c: number; v: number } {
  const o = 100 + (i % 50) / 10;
  return { ts: start + i * step, o, h: o + 1, l: o - 1, c: o + 0.5, v: 1000 + i };
}

function expectedBar(i: number, symbol: string, interval: Interval = '1m', start = T0): Bar {
  const r = row(i, start);
  return {
    provider: 'csv_1',
    symbol,
    interval,
    ts: r.ts,
    open: r.o,
    high: r.h,
    low: r.l,
    close: r.c,
    volume: r.v,
    vwap: null,
    tradeCount: null,
  };
}

function provider(config: Record<string, unknown>): CsvProvider {
  return new CsvProvider('csv_1', csvProviderSchema.parse({ type: 'csv', ...config }));
}

async function fetchAll(target: CsvProvider, request: FetchRequest): Promise<FetchResult> {
  const answer = await target.fetchBars(request, new AbortController().signal);
  return answer;
}

const window = (
  symbol: string,
  from: number,
  to: number,
  interval: Interval = '1m',
): FetchRequest => ({
  symbol,
  interval,
  start: from,
  end: to,
});

describe('csv provider', () => {
  it('file per symbol, header, ISO with Z: only the window, half-open', async () => {
    const dir = tempDir();
    for (const symbol of ['AAPL', 'MSFT']) {
      const lines = ['timestamp,open,high,low,close,volume'];
      for (let i = 0; i < 100; i++) {
        const r = row(i);
        lines.push(`${new Date(r.ts).toISOString()},${r.o},${r.h},${r.l},${r.c},${r.v}`);
      }
      writeFileSync(join(dir, `${symbol}.csv`), `${lines.join('\n')}\n`);
    }
    const target = provider({ path: dir });
    const result = await fetchAll(target, window('MSFT', T0 + 10 * MINUTE, T0 + 20 * MINUTE));
    expect(result.bars).toEqual(Array.from({ length: 10 }, (_, k) => expectedBar(10 + k, 'MSFT')));
    expect(result.unparsed).toEqual([]);
    expect(result.complete).toBe(true);
  });

  it('no header: columns by position, epoch seconds, a custom delimiter and CRLF lines', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = row(i);
      lines.push(`${r.ts / 1000};${r.v};${r.o};${r.h};${r.l};${r.c}`);
    }
    writeFileSync(join(dir, 'SPY.csv'), lines.join('\r\n'));
    const target = provider({
      path: dir,
      header: false,
      delimiter: ';',
      timestamp: { format: 'epoch_s' },
      columns: { ts: 0, volume: 1, open: 2, high: 3, low: 4, close: 5 },
    });
    const result = await fetchAll(target, window('SPY', T0, T0 + 30 * MINUTE));
    expect(result.bars).toEqual(Array.from({ length: 30 }, (_, i) => expectedBar(i, 'SPY')));
  });

  it('a symbol column over several files, epoch milliseconds, vwap and trade count', async () => {
    const dir = tempDir();
    for (const [file, from] of [
      ['2024-01-02.csv', 0],
      ['2024-01-03.csv', 50],
    ] as const) {
      const lines = ['ticker,ts_ms,o,h,l,c,v,vwap,trades'];
      for (let i = from; i < from + 50; i++) {
        for (const symbol of ['AAA', 'BBB']) {
          const r = row(i);
          lines.push(`${symbol},${r.ts},${r.o},${r.h},${r.l},${r.c},${r.v},${r.c},${i}`);
        }
      }
      writeFileSync(join(dir, file), lines.join('\n'));
    }
    const target = provider({
      path: dir,
      symbol_column: 'ticker',
      timestamp: { format: 'epoch_ms' },
      columns: {
        ts: 'ts_ms',
        open: 'o',
        high: 'h',
        low: 'l',
        close: 'c',
        volume: 'v',
        vwap: 'vwap',
        trade_count: 'trades',
      },
    });
    const result = await fetchAll(target, window('BBB', T0 + 45 * MINUTE, T0 + 55 * MINUTE));
    expect(result.bars.map((bar) => bar.ts)).toEqual(
      Array.from({ length: 10 }, (_, k) => T0 + (45 + k) * MINUTE),
    );
    expect(result.bars[0]).toEqual({ ...expectedBar(45, 'BBB'), vwap: row(45).c, tradeCount: 45 });
    expect((await fetchAll(target, window('ZZZ', T0, T0 + 100 * MINUTE))).bars).toEqual([]);
  });

  it.each([
    ['epoch_us', (ts: number) => `${ts}000`],
    ['epoch_ns', (ts: number) => `${ts}000000`],
  ] as const)('reads %s timestamps exactly (beyond 2^53)', async (format, write) => {
    const dir = tempDir();
    const lines = ['timestamp,open,high,low,close,volume'];
    for (let i = 0; i < 5; i++) {
      const r = row(i);
      lines.push(`${write(r.ts)},${r.o},${r.h},${r.l},${r.c},${r.v}`);
    }
    writeFileSync(join(dir, 'SPY.csv'), lines.join('\n'));
    const result = await fetchAll(
      provider({ path: dir, timestamp: { format } }),
      window('SPY', T0, T0 + 5 * MINUTE),
    );
    expect(result.bars.map((bar) => bar.ts)).toEqual([0, 1, 2, 3, 4].map((i) => T0 + i * MINUTE));
  });

  it('naive ISO times are read in the configured zone, across a DST change', async () => {
    const dir = tempDir();
    // 09:30 in New York: 14:30Z before the change of 2024-03-10, 13:30Z after it.
    writeFileSync(
      join(dir, 'SPY.csv'),
      [
        'timestamp,open,high,low,close,volume',
        '2024-03-08 09:30:00,1,2,0.5,1.5,10',
        '2024-03-08T15:59,1,2,0.5,1.5,10',
        '2024-03-11 09:30:00.000,1,2,0.5,1.5,10',
        // Written with an offset: the zone does not apply.
        '2024-03-11T09:31:00-04:00,1,2,0.5,1.5,10',
        '2024-03-11T13:32:00Z,1,2,0.5,1.5,10',
      ].join('\n'),
    );
    const result = await fetchAll(
      provider({ path: dir, timestamp: { time_zone: 'America/New_York' } }),
      window('SPY', Date.parse('2024-03-08T00:00:00Z'), Date.parse('2024-03-12T00:00:00Z')),
    );
    expect(result.bars.map((bar) => new Date(bar.ts).toISOString())).toEqual([
      '2024-03-08T14:30:00.000Z',
      '2024-03-08T20:59:00.000Z',
      '2024-03-11T13:30:00.000Z',
      '2024-03-11T13:31:00.000Z',
      '2024-03-11T13:32:00.000Z',
    ]);
  });

  it('a date alone is the daily bar of that date, at its UTC midnight, whatever the zone', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'SPY.csv'),
      'date,open,high,low,close,volume\n2024-01-02,472.16,473.67,470.49,472.65,123623700\n2024-01-03,470.43,471.19,468.17,468.79,103585900\n',
    );
    const result = await fetchAll(
      provider({
        path: dir,
        columns: { ts: 'date' },
        timestamp: { time_zone: 'America/New_York' },
      }),
      window('SPY', Date.parse('2024-01-01T00:00:00Z'), Date.parse('2024-02-01T00:00:00Z'), '1d'),
    );
    expect(result.bars.map((bar) => bar.ts)).toEqual([
      Date.parse('2024-01-02T00:00:00Z'),
      Date.parse('2024-01-03T00:00:00Z'),
    ]);
  });

  it('reads gzip files, by extension or by config', async () => {
    const dir = tempDir();
    const lines = ['timestamp,open,high,low,close,volume'];
    for (let i = 0; i < 20; i++) {
      const r = row(i);
      lines.push(`${new Date(r.ts).toISOString()},${r.o},${r.h},${r.l},${r.c},${r.v}`);
    }
    writeFileSync(join(dir, 'QQQ.csv.gz'), gzipSync(lines.join('\n')));
    const result = await fetchAll(
      provider({ path: dir }),
      window('QQQ', T0 + 5 * MINUTE, T0 + 8 * MINUTE),
    );
    expect(result.bars).toEqual([5, 6, 7].map((i) => expectedBar(i, 'QQQ')));

    const other = tempDir();
    writeFileSync(join(other, 'QQQ.bars'), gzipSync(lines.join('\n')));
    const forced = await fetchAll(
      provider({ path: join(other, '*.bars'), compression: 'gzip' }),
      window('QQQ', T0, T0 + 2 * MINUTE),
    );
    expect(forced.bars).toEqual([0, 1].map((i) => expectedBar(i, 'QQQ')));
  });

  it('a glob and a file pattern pick the files; several files of a symbol are merged in time order', async () => {
    const dir = tempDir();
    const write = (name: string, indexes: number[]): void => {
      const lines = ['timestamp,open,high,low,close,volume'];
      for (const i of indexes) {
        const r = row(i);
        lines.push(`${new Date(r.ts).toISOString()},${r.o},${r.h},${r.l},${r.c},${r.v}`);
      }
      writeFileSync(join(dir, name), lines.join('\n'));
    };
    write('IBM_1min_part2.csv', [3, 4, 5]);
    write('IBM_1min_part1.csv', [0, 1, 2]);
    write('IBM_daily.csv', [99]);
    const result = await fetchAll(
      provider({ path: join(dir, '*_1min_*.csv'), file_pattern: '^(?<symbol>[A-Z]+)_1min' }),
      window('IBM', T0, T0 + 200 * MINUTE),
    );
    expect(result.bars).toEqual([0, 1, 2, 3, 4, 5].map((i) => expectedBar(i, 'IBM')));
  });

  it('quoted fields are read, with a quote written as ""', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'ticks.csv'),
      'symbol,timestamp,open,high,low,close,volume\n"BRK,B","2024-01-02T14:30:00Z","1","2","0.5","1.5","10"\n"A""B",2024-01-02T14:30:00Z,1,2,0.5,1.5,10\n',
    );
    const target = provider({ path: dir, symbol_column: 'symbol' });
    expect((await fetchAll(target, window('BRK,B', T0, T0 + MINUTE))).bars).toHaveLength(1);
    expect((await fetchAll(target, window('A"B', T0, T0 + MINUTE))).bars).toHaveLength(1);
  });

  it('rows that cannot be read come back once each, with file and line, in the window of their time', async () => {
    const dir = tempDir();
    const file = join(dir, 'SPY.csv');
    writeFileSync(
      file,
      [
        'timestamp,open,high,low,close,volume', // line 1
        'not-a-time,1,2,0.5,1.5,10', // 2: before any readable time: takes the next row's (14:30)
        '2024-01-02T14:30:00Z,1,2,0.5,1.5,10', // 3
        '2024-01-02T14:31:00Z,1,two,0.5,1.5,10', // 4: high is not a number
        '', // 5: blank, skipped
        '2024-01-02T14:32:00Z,1,2,0.5,1.5', // 6: a field short
        '2024-01-02T25:00:00Z,1,2,0.5,1.5,10', // 7: hour 25: takes the previous row's time (14:32)
        '2024-01-02T14:33:00Z,1,2,0.5,1.5,10', // 8
        '2024-01-02T14:34:00Z,1,2,0.5,,10', // 9: close empty
      ].join('\n'),
    );
    const target = provider({ path: dir });
    const first = await fetchAll(target, window('SPY', T0, T0 + 2 * MINUTE));
    const second = await fetchAll(target, window('SPY', T0 + 2 * MINUTE, T0 + 10 * MINUTE));
    expect(first.bars.map((bar) => bar.ts)).toEqual([T0]);
    expect(first.unparsed).toEqual([
      {
        source: `${file}:2`,
        text: 'not-a-time,1,2,0.5,1.5,10',
        error:
          'ts: "not-a-time" is not an ISO-8601 time such as 2024-01-02T09:30:00Z, 2024-01-02 09:30:00 or 2024-01-02',
        ts: T0,
      },
      {
        source: `${file}:4`,
        text: '2024-01-02T14:31:00Z,1,two,0.5,1.5,10',
        error: 'high: "two" is not a number',
        ts: T0 + MINUTE,
      },
    ]);
    expect(second.bars.map((bar) => bar.ts)).toEqual([T0 + 3 * MINUTE]);
    expect(second.unparsed?.map((r) => [r.source, r.error, r.ts])).toEqual([
      [
        `${file}:6`,
        'the row has 5 fields, the configured columns need 6 (delimiter ",")',
        T0 + 2 * MINUTE,
      ],
      [`${file}:7`, expect.stringContaining('ts: "2024-01-02T25:00:00Z" is not'), T0 + 2 * MINUTE],
      [`${file}:9`, 'close: "" is not a number', T0 + 4 * MINUTE],
    ]);
  });

  it('through the pipeline, unreadable rows are rejects with reason unparseable naming file:line', async () => {
    const dir = tempDir();
    const file = join(dir, 'SPY.csv');
    writeFileSync(
      file,
      'timestamp,open,high,low,close,volume\n2024-01-02T14:30:00Z,1,2,0.5,1.5,10\n2024-01-02T14:31:00Z,x,2,0.5,1.5,10\n2024-01-02T14:32:00Z,3,2,0.5,1.5,10\n',
    );
    const fetched = await pipelineFetch(
      provider({ path: dir }),
      window('SPY', T0, T0 + 3 * MINUTE),
    );
    expect(fetched.valid.map((bar) => bar.ts)).toEqual([T0]);
    expect(fetched.rejected).toEqual([
      {
        provider: 'csv_1',
        symbol: 'SPY',
        interval: '1m',
        ts: T0 + MINUTE,
        reason: 'unparseable',
        raw: JSON.stringify({
          source: `${file}:3`,
          error: 'open: "x" is not a number',
          row: '2024-01-02T14:31:00Z,x,2,0.5,1.5,10',
        }),
      },
      // A row that parses but is not a valid bar is the validator's to reject.
      expect.objectContaining({ ts: T0 + 2 * MINUTE, reason: 'open_outside_range' }),
    ]);
  });

  it('a large file read window by window gives every bar once, sorted or not, plain or gzip', async () => {
    const dir = tempDir();
    const count = 60_000; // ~3.5 MB: several seek points
    const lines = ['timestamp,open,high,low,close,volume'];
    for (let i = 0; i < count; i++) {
      const r = row(i);
      lines.push(`${new Date(r.ts).toISOString()},${r.o},${r.h},${r.l},${r.c},${r.v}`);
    }
    const body = lines.slice(1);
    writeFileSync(join(dir, 'SORTED.csv'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'ZIPPED.csv.gz'), gzipSync(`${lines.join('\n')}\n`));
    // A deterministic shuffle: no seek point can be trusted, every read sees the whole file.
    const shuffled = body
      .map((text, i) => ({ text, key: (i * 7919) % count }))
      .sort((a, b) => a.key - b.key);
    writeFileSync(join(dir, 'SHUFFLED.csv'), [lines[0], ...shuffled.map((s) => s.text)].join('\n'));

    const target = provider({ path: dir });
    for (const symbol of ['SORTED', 'ZIPPED', 'SHUFFLED']) {
      const seen: number[] = [];
      const chunk = 7_000 * MINUTE;
      for (let from = T0 - chunk; from < T0 + count * MINUTE; from += chunk) {
        const result = await fetchAll(target, window(symbol, from, from + chunk));
        const times = result.bars.map((bar) => bar.ts);
        if (symbol === 'SHUFFLED') times.sort((a, b) => a - b);
        seen.push(...times);
      }
      expect(seen.length, symbol).toBe(count);
      expect(
        seen.every((ts, i) => ts === T0 + i * MINUTE),
        symbol,
      ).toBe(true);
    }
  });

  describe('naive New York times across the fall-back hour (2024-11-03), read window by window', () => {
    const HALF_HOUR = 30 * MINUTE;
    const HOUR = 2 * HALF_HOUR;
    /** The second 01:00 of the day (EST), when clocks have gone back. */
    const SECOND_ONE_AM = Date.parse('2024-11-03T06:00:00Z');
    /** How far apart the provider's seek points are. */
    const SEEK_SPACING = 1 << 20;
    const HEADER = 'timestamp,open,high,low,close,volume,note';
    const newYork = { timestamp: { format: 'iso', time_zone: 'America/New_York' } };

    /** `ts` as a naive New York wall time, with volume `volume`. */
    const naiveRow = (ts: number, volume: number): string => {
      const offset = ts < SECOND_ONE_AM ? 4 : 5;
      const wall = new Date(ts - offset * HOUR).toISOString().slice(0, 19).replace('T', ' ');
      return `${wall},100,101,99,100.5,${volume},`;
    };

    /** The file of `rows`, the ones before `at` padded so that a seek point lands on row `at`. */
    const seekPointOn = (rows: string[], at: number): string => {
      const pad = Math.floor((SEEK_SPACING - 4096) / at);
      const padded = rows.map((text, i) => (i < at ? text + 'x'.repeat(pad - text.length) : text));
      const before = padded.slice(0, at - 1).reduce((sum, text) => sum + text.length + 1, 0);
      padded[at - 1] += 'x'.repeat(SEEK_SPACING - before - 1 - (padded[at - 1] as string).length);
      return `${[HEADER, ...padded].join('\n')}\n`;
    };

    /** Rows of the half hours from FROM to `to`, the i-th with volume 1000 + i. */
    const FROM = Date.parse('2024-10-20T04:00:00Z');
    const halfHourRows = (to: number): string[] => {
      const rows: string[] = [];
      for (let ts = FROM, i = 0; ts < to; ts += HALF_HOUR, i++) rows.push(naiveRow(ts, 1000 + i));
      return rows;
    };

    /** The half hours of [from, to) as bars, the volume of each from its row. */
    const readByHour = async (target: CsvProvider, from: number, to: number): Promise<Bar[]> => {
      const bars: Bar[] = [];
      for (let start = from; start < to; start += HOUR) {
        const result = await fetchAll(target, window('SPY', start, start + HOUR, '30m'));
        bars.push(...result.bars);
      }
      return bars;
    };

    it('a file newest first, large enough for seek points: each half hour once, with its own row', async () => {
      const dir = tempDir();
      const to = Date.parse('2024-11-05T05:00:00Z');
      const rows = halfHourRows(to).reverse();
      // A seek point lands on the later (EST) 01:00. No window of the day can start a read there
      // (newer rows come before it), so each read starts at the top and follows the descent.
      writeFileSync(join(dir, 'SPY.csv'), seekPointOn(rows, (to - SECOND_ONE_AM) / HALF_HOUR - 1));
      const target = provider({ path: dir, ...newYork });
      const dayStart = Date.parse('2024-11-03T04:00:00Z');
      const dayEnd = Date.parse('2024-11-04T05:00:00Z');
      // Each window's bars come in file order, newest first.
      const bars = (await readByHour(target, dayStart, dayEnd)).sort((a, b) => a.ts - b.ts);
      const expected: number[] = [];
      for (let ts = dayStart; ts < dayEnd; ts += HALF_HOUR) expected.push(ts);
      expect(bars.map((bar) => bar.ts)).toEqual(expected);
      expect(bars.map((bar) => bar.volume)).toEqual(
        expected.map((ts) => 1000 + (ts - FROM) / HALF_HOUR),
      );
    });

    it('a read from a seek point after a step back in time reads the repeated hour as a read from the top', async () => {
      const dir = tempDir();
      const to = Date.parse('2024-11-04T05:00:00Z');
      const rows = halfHourRows(to);
      // The vendor re-sent an earlier bar (00:30 EDT, volume 7) just before the later 01:00: the
      // rows step back in time, then go on with the EST 01:00.
      const fold = (SECOND_ONE_AM - FROM) / HALF_HOUR;
      rows.splice(fold, 0, naiveRow(Date.parse('2024-11-03T04:30:00Z'), 7));
      // A seek point on the row after the step back: the one-hour window from 06:00Z reads from
      // there, without the rows before it.
      writeFileSync(join(dir, 'SPY.csv'), seekPointOn(rows, fold + 1));
      const target = provider({ path: dir, ...newYork });
      const dayStart = Date.parse('2024-11-03T04:00:00Z');
      const fromTop = await fetchAll(target, window('SPY', dayStart, to, '30m'));
      const byHour = await readByHour(target, dayStart, to);
      const sorted = (bars: readonly Bar[]): Bar[] =>
        [...bars].sort((a, b) => a.ts - b.ts || a.volume! - b.volume!);
      expect(sorted(byHour)).toEqual(sorted(fromTop.bars));
      // Both read the row after the step back as the EST 01:00, with its own volume.
      const second = fromTop.bars.find((bar) => bar.ts === SECOND_ONE_AM);
      expect(second?.volume).toBe(1000 + fold);
      expect(fromTop.bars.filter((bar) => bar.ts === SECOND_ONE_AM - HOUR)).toHaveLength(1);
    });
  });

  it('a file that changes is read again: appended rows appear', async () => {
    const dir = tempDir();
    const file = join(dir, 'SPY.csv');
    writeFileSync(
      file,
      'timestamp,open,high,low,close,volume\n2024-01-02T14:30:00Z,1,2,0.5,1.5,10\n',
    );
    const target = provider({ path: dir });
    expect((await fetchAll(target, window('SPY', T0, T0 + 5 * MINUTE))).bars).toHaveLength(1);
    appendFileSync(file, '2024-01-02T14:31:00Z,1,2,0.5,1.5,10\n');
    expect((await fetchAll(target, window('SPY', T0, T0 + 5 * MINUTE))).bars).toHaveLength(2);
  });

  it('an empty file and a header-only file hold no bars', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'A.csv'), '');
    writeFileSync(join(dir, 'B.csv'), 'timestamp,open,high,low,close,volume\n');
    const target = provider({ path: dir });
    expect((await fetchAll(target, window('A', T0, T0 + MINUTE))).bars).toEqual([]);
    expect((await fetchAll(target, window('B', T0, T0 + MINUTE))).bars).toEqual([]);
  });

  describe('permanent errors that name the fix', () => {
    it('a column missing from the header', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'SPY.csv'), 'time,open,high,low,close,volume\n');
      const error = await fetchAll(provider({ path: dir }), window('SPY', T0, T0 + MINUTE)).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PermanentProviderError);
      expect((error as Error).message).toContain(
        'no column "timestamp" (ts) in the header [time, open, high, low, close, volume]; set columns.ts',
      );
    });

    it('a file where no row has a readable time', async () => {
      const dir = tempDir();
      writeFileSync(
        join(dir, 'SPY.csv'),
        'timestamp,open,high,low,close,volume\n1704205800,1,2,0.5,1.5,10\n',
      );
      const error = await fetchAll(provider({ path: dir }), window('SPY', T0, T0 + MINUTE)).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PermanentProviderError);
      expect((error as Error).message).toMatch(
        /none of the 1 rows of SPY has a readable time; line 2: ts: "1704205800" is not an ISO-8601 time.*check columns\.ts and timestamp\.format/,
      );
    });

    it('a symbol without a file', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'SPY.csv'), 'timestamp,open,high,low,close,volume\n');
      const error = await fetchAll(provider({ path: dir }), window('QQQ', T0, T0 + MINUTE)).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PermanentProviderError);
      expect((error as Error).message).toContain('unknown symbol QQQ: no file under');
    });

    it('a path that does not exist', async () => {
      const dir = join(tempDir(), 'missing');
      const error = await fetchAll(provider({ path: dir }), window('SPY', T0, T0 + MINUTE)).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PermanentProviderError);
      expect((error as Error).message).toContain(`(${dir}) does not exist`);
    });
  });

  it('stops when its signal aborts', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'x'));
    writeFileSync(
      join(dir, 'SPY.csv'),
      'timestamp,open,high,low,close,volume\n2024-01-02T14:30:00Z,1,2,0.5,1.5,10\n',
    );
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(
      provider({ path: dir }).fetchBars(window('SPY', T0, T0 + MINUTE), controller.signal),
    ).rejects.toThrow('stop');
  });
});

describe('csv provider config', () => {
  const issues = (config: Record<string, unknown>): string[] => {
    const result = csvProviderSchema.safeParse({ type: 'csv', path: 'data', ...config });
    return result.success
      ? []
      : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('has defaults for a common layout', () => {
    expect(csvProviderSchema.parse({ type: 'csv', path: 'data' })).toMatchObject({
      header: true,
      delimiter: ',',
      compression: 'auto',
      file_pattern: '^(?<symbol>[^.]+)',
      columns: { ts: 'timestamp', open: 'open', volume: 'volume' },
      timestamp: { format: 'iso', time_zone: 'UTC' },
      max_bars_per_request: 100_000,
      request_timeout: 600_000,
    });
  });

  it('without a header, columns must be positions', () => {
    expect(
      issues({ header: false, columns: { ts: 0, open: 1, high: 2, low: 3, close: 4 } }),
    ).toEqual([
      'columns.volume: names a column, but header is false: give its 0-based position instead, e.g. 0 for the first column',
    ]);
  });

  it('rejects an unknown time zone, a pattern without a symbol group and a wildcard directory', () => {
    expect(issues({ timestamp: { time_zone: 'Mars/Olympus' } })[0]).toContain(
      'timestamp.time_zone: is not a time zone',
    );
    expect(issues({ file_pattern: '^([A-Z]+)' })[0]).toContain(
      'file_pattern: must be a regular expression with a named group symbol',
    );
    expect(issues({ path: 'data/*/bars.csv' })[0]).toContain(
      'path: wildcards (* ?) work in the file name only',
    );
    expect(issues({ path: 'data/*.csv' })).toEqual([]);
  });
});
