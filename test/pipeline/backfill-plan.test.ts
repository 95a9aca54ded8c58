import { describe, expect, it } from 'vitest';
import type { Interval } from '../../src/core/interval.js';
import {
  barsInWindow,
  CheckpointIndex,
  chunkLengthMs,
  planChunks,
  type Chunk,
} from '../../src/pipeline/runner/backfill-plan.js';
import type { Checkpoint } from '../../src/store/store.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();
const show = (chunks: Iterable<Chunk>): string[] =>
  [...chunks].map((c) => `${c.symbol} ${iso(c.start)} ${iso(c.end)}`);

describe('chunkLengthMs', () => {
  it('is one provider page of bars by default', () => {
    expect(chunkLengthMs('1m', 1_000)).toBe(1_000 * MIN);
    expect(chunkLengthMs('1h', 24)).toBe(DAY);
  });

  it('takes the configured chunk when smaller than a page, never when larger', () => {
    expect(chunkLengthMs('1m', 50_000, 2 * HOUR)).toBe(2 * HOUR);
    expect(chunkLengthMs('1m', 100, 2 * HOUR)).toBe(100 * MIN);
  });

  it('rounds down to whole intervals, but is at least one interval', () => {
    expect(chunkLengthMs('5m', 1_000, 17 * MIN)).toBe(15 * MIN);
    expect(chunkLengthMs('1h', 1_000, 90 * 1_000)).toBe(HOUR);
    expect(chunkLengthMs('1d', 1, 7 * DAY)).toBe(DAY);
  });
});

describe('barsInWindow', () => {
  it('counts aligned open times in [start, end)', () => {
    const t = at('2024-01-01T00:00:00Z');
    expect(barsInWindow(t, t + HOUR, '1m')).toBe(60);
    expect(barsInWindow(t, t + HOUR, '5m')).toBe(12);
    expect(barsInWindow(t + 30_000, t + HOUR, '1m')).toBe(59); // 00:00 is before the start
    expect(barsInWindow(t, t + HOUR + 1, '1m')).toBe(61); // 01:00 is inside [start, end)
    expect(barsInWindow(t, t + 1, '1h')).toBe(1);
    expect(barsInWindow(t + 1, t + HOUR, '1h')).toBe(0);
    expect(barsInWindow(t + HOUR, t, '1m')).toBe(0);
  });
});

describe('planChunks', () => {
  it('cuts an aligned window on the epoch grid, time-major across symbols', () => {
    const chunks = planChunks({
      symbols: ['AAA', 'BBB'],
      interval: '1h',
      start: at('2024-01-01T00:00:00Z'),
      end: at('2024-01-03T00:00:00Z'),
      chunkMs: DAY,
    });
    expect(show(chunks)).toEqual([
      'AAA 2024-01-01T00:00:00.000Z 2024-01-02T00:00:00.000Z',
      'BBB 2024-01-01T00:00:00.000Z 2024-01-02T00:00:00.000Z',
      'AAA 2024-01-02T00:00:00.000Z 2024-01-03T00:00:00.000Z',
      'BBB 2024-01-02T00:00:00.000Z 2024-01-03T00:00:00.000Z',
    ]);
  });

  it('starts at the first aligned ts at or after start, and excludes bars at or after end', () => {
    const chunks = [
      ...planChunks({
        symbols: ['AAA'],
        interval: '5m',
        start: at('2024-03-05T10:07:30Z'),
        end: at('2024-03-05T11:02:00Z'),
        chunkMs: 30 * MIN,
      }),
    ];
    // Bars 10:10 ... 11:00 (11:00 < 11:02); the grid cuts at 10:30 and 11:00.
    expect(show(chunks)).toEqual([
      'AAA 2024-03-05T10:10:00.000Z 2024-03-05T10:30:00.000Z',
      'AAA 2024-03-05T10:30:00.000Z 2024-03-05T11:00:00.000Z',
      'AAA 2024-03-05T11:00:00.000Z 2024-03-05T11:05:00.000Z',
    ]);
    expect(chunks.reduce((n, c) => n + barsInWindow(c.start, c.end, '5m'), 0)).toBe(11);
  });

  it('keeps the inner chunks of a window extended between runs', () => {
    const plan = (start: string, end: string): string[] =>
      show(
        planChunks({
          symbols: ['X'],
          interval: '1m',
          start: at(start),
          end: at(end),
          chunkMs: HOUR,
        }),
      );
    const first = plan('2024-01-01T00:20:00Z', '2024-01-01T03:00:00Z');
    const wider = plan('2023-12-31T23:00:00Z', '2024-01-01T04:10:00Z');
    expect(first).toEqual([
      'X 2024-01-01T00:20:00.000Z 2024-01-01T01:00:00.000Z',
      'X 2024-01-01T01:00:00.000Z 2024-01-01T02:00:00.000Z',
      'X 2024-01-01T02:00:00.000Z 2024-01-01T03:00:00.000Z',
    ]);
    expect(wider).toEqual(expect.arrayContaining(first.slice(1)));
    expect(wider).toHaveLength(6);
  });

  it('yields nothing for an empty or inverted window, or one holding no aligned ts', () => {
    const base = { symbols: ['AAA'], interval: '1h' as Interval, chunkMs: DAY };
    const t = at('2024-01-01T00:00:00Z');
    expect([...planChunks({ ...base, start: t, end: t })]).toEqual([]);
    expect([...planChunks({ ...base, start: t + HOUR, end: t })]).toEqual([]);
    expect([...planChunks({ ...base, start: t + 1, end: t + HOUR })]).toEqual([]);
    expect([...planChunks({ ...base, symbols: [], start: t, end: t + DAY })]).toEqual([]);
  });

  it('is lazy: a decade of minutes in one-bar chunks is not materialised', () => {
    const chunks = planChunks({
      symbols: ['AAA'],
      interval: '1m',
      start: at('2015-01-01T00:00:00Z'),
      end: at('2025-01-01T00:00:00Z'),
      chunkMs: MIN,
    });
    expect(chunks.next().value).toEqual({
      symbol: 'AAA',
      start: at('2015-01-01T00:00:00Z'),
      end: at('2015-01-01T00:01:00Z'),
    });
  });
});

describe('CheckpointIndex', () => {
  const t = at('2024-01-01T00:00:00Z');
  const checkpoint = (
    symbol: string,
    start: number,
    end: number,
    extra: Partial<Checkpoint> = {},
  ): Checkpoint => ({
    jobName: 'job',
    provider: 'synthetic_1',
    symbol,
    interval: '1m',
    windowStart: start,
    windowEnd: end,
    rows: (end - start) / MIN,
    runId: 1,
    completedAt: t,
    expectedRows: null,
    complete: true,
    provisional: false,
    ...extra,
  });
  const chunk = (symbol: string, start: number, end: number): Chunk => ({ symbol, start, end });

  it('knows a chunk that one checkpoint covers exactly or more', () => {
    const index = new CheckpointIndex([checkpoint('AAA', t, t + 2 * HOUR)], 'synthetic_1', '1m');
    expect(index.has(chunk('AAA', t, t + HOUR))).toBe(true);
    expect(index.has(chunk('AAA', t + HOUR, t + 2 * HOUR))).toBe(true);
    expect(index.has(chunk('AAA', t, t + 2 * HOUR))).toBe(true);
    expect(index.has(chunk('AAA', t + 2 * HOUR, t + 3 * HOUR))).toBe(false);
    expect(index.has(chunk('BBB', t, t + HOUR))).toBe(false);
  });

  it('merges adjacent and overlapping checkpoints, in any order, to cover a chunk', () => {
    const index = new CheckpointIndex(
      [
        checkpoint('AAA', t + 2 * HOUR, t + 3 * HOUR),
        checkpoint('AAA', t, t + HOUR),
        checkpoint('AAA', t + HOUR, t + 2 * HOUR + 30 * MIN),
      ],
      'synthetic_1',
      '1m',
    );
    expect(index.has(chunk('AAA', t, t + 3 * HOUR))).toBe(true);
    expect(index.has(chunk('AAA', t + 30 * MIN, t + 150 * MIN))).toBe(true);
  });

  it('does not count partial coverage or coverage with a gap', () => {
    const index = new CheckpointIndex(
      [checkpoint('AAA', t, t + HOUR), checkpoint('AAA', t + HOUR + MIN, t + 2 * HOUR)],
      'synthetic_1',
      '1m',
    );
    expect(index.has(chunk('AAA', t, t + 2 * HOUR))).toBe(false);
    expect(index.has(chunk('AAA', t + 30 * MIN, t + 90 * MIN))).toBe(false);
    expect(index.has(chunk('AAA', t - MIN, t + HOUR))).toBe(false);
    expect(index.has(chunk('AAA', t, t + HOUR + MIN))).toBe(false);
    expect(index.has(chunk('AAA', t + HOUR + MIN, t + 2 * HOUR))).toBe(true);
  });

  it('ignores checkpoints of another provider or interval', () => {
    const index = new CheckpointIndex(
      [
        checkpoint('AAA', t, t + HOUR, { provider: 'synthetic_2' }),
        checkpoint('AAA', t, t + HOUR, { interval: '5m' }),
      ],
      'synthetic_1',
      '1m',
    );
    expect(index.has(chunk('AAA', t, t + HOUR))).toBe(false);
  });

  it('lists the parts of a chunk that checkpoints leave uncovered, in order', () => {
    const index = new CheckpointIndex(
      [checkpoint('AAA', t, t + HOUR), checkpoint('AAA', t + 2 * HOUR, t + 3 * HOUR)],
      'synthetic_1',
      '1m',
    );
    expect(index.missing(chunk('AAA', t + 30 * MIN, t + 4 * HOUR))).toEqual([
      chunk('AAA', t + HOUR, t + 2 * HOUR),
      chunk('AAA', t + 3 * HOUR, t + 4 * HOUR),
    ]);
    expect(index.missing(chunk('AAA', t - HOUR, t + 30 * MIN))).toEqual([
      chunk('AAA', t - HOUR, t),
    ]);
    expect(index.missing(chunk('AAA', t + 10 * MIN, t + 50 * MIN))).toEqual([]);
    expect(index.missing(chunk('AAA', t + 5 * HOUR, t + 6 * HOUR))).toEqual([
      chunk('AAA', t + 5 * HOUR, t + 6 * HOUR),
    ]);
    expect(index.missing(chunk('BBB', t, t + HOUR))).toEqual([chunk('BBB', t, t + HOUR)]);
  });

  it('ignores incomplete checkpoints: their windows are fetched again', () => {
    const index = new CheckpointIndex(
      [
        checkpoint('AAA', t, t + HOUR, { complete: false, expectedRows: 60, rows: 20 }),
        checkpoint('AAA', t + HOUR, t + 2 * HOUR),
      ],
      'synthetic_1',
      '1m',
    );
    expect(index.has(chunk('AAA', t, t + HOUR))).toBe(false);
    expect(index.missing(chunk('AAA', t, t + 2 * HOUR))).toEqual([chunk('AAA', t, t + HOUR)]);
  });

  it('with a publication delay, ignores checkpoints recorded sooner than the delay after their end', () => {
    const delay = 15 * MIN;
    const end = t + HOUR;
    const index = new CheckpointIndex(
      [
        // Recorded 30 s after its end, before the delay was known: its tail may be unpublished.
        checkpoint('AAA', t, end, { completedAt: end + 30_000 }),
        // Recorded exactly the delay after its end: final.
        checkpoint('BBB', t, end, { completedAt: end + delay }),
      ],
      'synthetic_1',
      '1m',
      delay,
    );
    expect(index.has(chunk('AAA', t, end))).toBe(false);
    expect(index.has(chunk('BBB', t, end))).toBe(true);
    // Without a delay both stand, as before.
    const undelayed = new CheckpointIndex(
      [checkpoint('AAA', t, end, { completedAt: end + 30_000 })],
      'synthetic_1',
      '1m',
    );
    expect(undelayed.has(chunk('AAA', t, end))).toBe(true);
  });

  it('finds coverage among many ranges', () => {
    const checkpoints = Array.from({ length: 200 }, (_, i) =>
      checkpoint('AAA', t + 2 * i * HOUR, t + (2 * i + 1) * HOUR),
    );
    const index = new CheckpointIndex(checkpoints, 'synthetic_1', '1m');
    for (let i = 0; i < 200; i++) {
      expect(index.has(chunk('AAA', t + 2 * i * HOUR, t + (2 * i + 1) * HOUR))).toBe(true);
      expect(index.has(chunk('AAA', t + (2 * i + 1) * HOUR, t + (2 * i + 2) * HOUR))).toBe(false);
    }
  });
});
