import { describe, expect, it } from 'vitest';
import type { Bar } from '../../src/core/bar.js';
import type { FetchRequest } from '../../src/core/provider.js';
import { validateBars, type RejectReason } from '../../src/pipeline/bar-validator.js';

const MIN = 60_000;
const T0 = Date.parse('2024-01-02T00:00:00Z');
const request: FetchRequest = { symbol: 'AAA', interval: '1m', start: T0, end: T0 + 10 * MIN };

const bar = (minute: number, overrides: Partial<Bar> = {}): Bar => ({
  provider: 'synthetic_1',
  symbol: 'AAA',
  interval: '1m',
  ts: T0 + minute * MIN,
  open: 10,
  high: 12,
  low: 9,
  close: 11,
  volume: 500,
  vwap: 10.5,
  tradeCount: 42,
  ...overrides,
});

const validate = (bars: readonly Bar[]): ReturnType<typeof validateBars> =>
  validateBars(bars, request, 'synthetic_1');

describe('validateBars', () => {
  it('returns the input array itself when every bar is valid', () => {
    const bars = [bar(0), bar(1), bar(2, { vwap: null, tradeCount: null })];
    const result = validate(bars);
    expect(result.valid).toBe(bars);
    expect(result.rejected).toEqual([]);
  });

  it('accepts edge values: open/close on the range bounds, zero volume, flat bar', () => {
    const bars = [
      bar(0, { open: 9, close: 12 }),
      bar(1, { open: 12, close: 9 }),
      bar(2, { volume: 0 }),
      bar(3, { open: 5, high: 5, low: 5, close: 5 }),
      bar(9),
    ];
    expect(validate(bars).valid).toBe(bars);
  });

  it('accepts an unknown volume (null, as index aggregates have) and still rejects a negative one', () => {
    const bars = [bar(0, { volume: null, vwap: null, tradeCount: null }), bar(1, { volume: -0.5 })];
    const result = validate(bars);
    expect(result.valid).toEqual([bars[0]]);
    expect(result.rejected.map((r) => r.reason)).toEqual(['negative_volume']);
  });

  const cases: [RejectReason, Partial<Bar>][] = [
    ['non_finite', { open: NaN }],
    ['non_finite', { high: Infinity }],
    ['non_finite', { low: -Infinity }],
    ['non_finite', { close: NaN }],
    ['non_finite', { volume: Infinity }],
    ['non_finite', { vwap: NaN }],
    ['non_finite', { tradeCount: NaN }],
    ['non_finite', { tradeCount: Infinity }],
    ['non_finite', { ts: NaN }],
    ['high_below_low', { high: 8, low: 9, open: 8.5, close: 8.5 }],
    ['open_outside_range', { open: 12.5 }],
    ['open_outside_range', { open: 8.99 }],
    ['close_outside_range', { close: 13 }],
    ['close_outside_range', { close: 1 }],
    ['negative_volume', { volume: -1 }],
    ['invalid_trade_count', { tradeCount: 1.5 }],
    ['invalid_trade_count', { tradeCount: -3 }],
    ['unaligned_ts', { ts: T0 + 3 * MIN + 1 }],
    ['outside_window', { ts: T0 - MIN }],
    ['outside_window', { ts: T0 + 10 * MIN }],
    ['wrong_series', { symbol: 'BBB' }],
    ['wrong_series', { interval: '5m' }],
    ['wrong_series', { provider: 'synthetic_2' }],
  ];

  it.each(cases)('rejects %s: %o', (reason, overrides) => {
    const bad = bar(3, overrides);
    const good = [bar(1), bar(2), bar(4)];
    const result = validate([good[0] as Bar, good[1] as Bar, bad, good[2] as Bar]);
    expect(result.valid).toEqual(good);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]).toMatchObject({
      provider: 'synthetic_1',
      symbol: 'AAA',
      interval: '1m',
      reason,
    });
  });

  it('records the reject with its ts, or 0 when the ts is not a number', () => {
    const result = validate([bar(3, { volume: -5 }), bar(4, { ts: NaN })]);
    expect(result.rejected.map((r) => [r.ts, r.reason])).toEqual([
      [T0 + 3 * MIN, 'negative_volume'],
      [0, 'non_finite'],
    ]);
  });

  it('keeps the original values in raw, NaN and Infinity as strings', () => {
    const result = validate([bar(3, { open: NaN, high: Infinity, volume: -Infinity, vwap: null })]);
    const raw = JSON.parse(result.rejected[0]?.raw ?? '{}') as Record<string, unknown>;
    expect(raw).toEqual({
      provider: 'synthetic_1',
      symbol: 'AAA',
      interval: '1m',
      ts: T0 + 3 * MIN,
      open: 'NaN',
      high: 'Infinity',
      low: 9,
      close: 11,
      volume: '-Infinity',
      vwap: null,
      tradeCount: 42,
    });
  });

  it('keeps the first of a repeated ts and rejects later ones as duplicate_ts', () => {
    const first = bar(2, { close: 11 });
    const again = bar(2, { close: 10 });
    const result = validate([bar(1), first, again, bar(3)]);
    expect(result.valid).toEqual([bar(1), first, bar(3)]);
    expect(result.rejected.map((r) => [r.ts, r.reason])).toEqual([[T0 + 2 * MIN, 'duplicate_ts']]);
  });

  it('finds duplicates in an out-of-order page', () => {
    const result = validate([bar(5), bar(1), bar(3), bar(1), bar(5), bar(2)]);
    expect(result.valid.map((b) => (b.ts - T0) / MIN)).toEqual([5, 1, 3, 2]);
    expect(result.rejected.map((r) => [(r.ts - T0) / MIN, r.reason])).toEqual([
      [1, 'duplicate_ts'],
      [5, 'duplicate_ts'],
    ]);
  });

  it('judges duplicates among valid bars only, whatever the page order', () => {
    // The first bar at minute 2 is rejected on its own; its valid twin is then the only one.
    const broken = bar(2, { high: 1 });
    const ascending = validate([bar(1), broken, bar(2), bar(3)]);
    const shuffled = validate([bar(1), broken, bar(3), bar(2)]);
    expect(ascending.valid.map((b) => (b.ts - T0) / MIN)).toEqual([1, 2, 3]);
    expect(shuffled.valid.map((b) => (b.ts - T0) / MIN)).toEqual([1, 3, 2]);
    expect(shuffled.rejected.map((r) => r.reason)).toEqual(['high_below_low']);
  });

  it('takes the first matching reason when a bar has several faults', () => {
    const result = validate([
      bar(3, { symbol: 'BBB', open: NaN }),
      bar(4, { open: NaN, ts: T0 + 1 }),
      bar(5, { ts: T0 - 1 }),
      bar(6, { high: 1, volume: -1 }),
    ]);
    expect(result.rejected.map((r) => r.reason)).toEqual([
      'wrong_series',
      'non_finite',
      'unaligned_ts',
      'high_below_low',
    ]);
    expect(result.valid).toEqual([]);
  });

  it('handles an empty page', () => {
    const empty: Bar[] = [];
    expect(validate(empty)).toEqual({ valid: empty, rejected: [] });
  });
});
