import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../../src/core/bar.js';
import { INTERVALS, intervalMs, type Interval } from '../../../src/core/interval.js';
import { SyntheticSeries } from '../../../src/providers/synthetic/synthetic-series.js';

const JAN_2024 = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;
const DAY = 86_400_000;

const intervalArb = fc.constantFrom(...INTERVALS);
const symbolArb = fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/);
/** Aligned open times from 1971 to 2100, as a bar index so they are aligned for any interval. */
const barIndexArb = (interval: Interval) =>
  fc.integer({
    min: Math.ceil(Date.UTC(1971, 0, 1) / intervalMs(interval)),
    max: Math.floor(Date.UTC(2100, 0, 1) / intervalMs(interval)),
  });

/** Why a bar breaks the OHLCV rules, or undefined; plain checks, since expect() per field is slow. */
function invalidReason(bar: Bar): string | undefined {
  const { open, high, low, close, volume, vwap, tradeCount } = bar;
  if (![open, high, low, close, volume, vwap].every(Number.isFinite)) return 'not finite';
  if (!(low > 0)) return 'low <= 0';
  if (low > Math.min(open, close)) return 'low above open/close';
  if (high < Math.max(open, close)) return 'high below open/close';
  if (vwap === null || vwap < low || vwap > high) return 'vwap outside [low, high]';
  if (volume === null || !Number.isInteger(volume) || volume < 0) {
    return 'volume not a non-negative integer';
  }
  if (!Number.isInteger(tradeCount) || (tradeCount as number) < 0) return 'bad trade count';
  if (bar.ts % intervalMs(bar.interval) !== 0) return 'ts not aligned';
  return undefined;
}

describe('SyntheticSeries', () => {
  it('pins the generated values, so reruns and releases stay byte-identical', () => {
    expect(new SyntheticSeries(42, 'AAPL', '1m').barAt('synthetic_1', JAN_2024)).toEqual({
      provider: 'synthetic_1',
      symbol: 'AAPL',
      interval: '1m',
      ts: JAN_2024,
      open: 41.36,
      high: 41.41,
      low: 41.34,
      close: 41.4,
      volume: 123006,
      vwap: 41.3717,
      tradeCount: 1294,
    });
    expect(new SyntheticSeries(42, 'AAPL', '1d').barAt('synthetic_1', JAN_2024)).toMatchObject({
      open: 41.36,
      high: 42.92,
      low: 40.85,
      close: 41.87,
      volume: 171241197,
      vwap: 41.907,
      tradeCount: 1764366,
    });
  });

  it('gives the same bar at a ts whether generated alone or in any run of bars', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        symbolArb,
        intervalArb.chain((interval) =>
          fc.tuple(fc.constant(interval), barIndexArb(interval), fc.integer({ min: 1, max: 200 })),
        ),
        fc.integer({ min: 0, max: 199 }),
        (seed, symbol, [interval, index, count], offset) => {
          const series = new SyntheticSeries(seed, symbol, interval);
          const step = intervalMs(interval);
          const bars = series.bars('p', index * step, count);
          expect(bars).toHaveLength(count);
          const at = offset % count;
          expect(bars[at]).toEqual(series.barAt('p', (index + at) * step));
          const split = new SyntheticSeries(seed, symbol, interval);
          expect([
            ...split.bars('p', index * step, at),
            ...split.bars('p', (index + at) * step, count - at),
          ]).toEqual(bars);
        },
      ),
    );
  });

  it('generates valid OHLCV bars for any seed, symbol, interval and time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
        symbolArb,
        intervalArb.chain((interval) => fc.tuple(fc.constant(interval), barIndexArb(interval))),
        (seed, symbol, [interval, index]) => {
          const bars = new SyntheticSeries(seed, symbol, interval).bars(
            'p',
            index * intervalMs(interval),
            500,
          );
          const problems = bars.flatMap((bar, i) => {
            const reason =
              invalidReason(bar) ??
              (bar.ts !== (index + i) * intervalMs(interval) ? 'wrong ts' : undefined) ??
              (bar.symbol !== symbol || bar.interval !== interval ? 'wrong series' : undefined);
            return reason === undefined ? [] : [{ reason, bar }];
          });
          expect(problems).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives the same bar whatever the instance generated before (its memo is invisible)', () => {
    const used = new SyntheticSeries(5, 'AAA', '15m');
    const step = 15 * MINUTE;
    const probes = [JAN_2024, JAN_2024 - 400 * DAY, JAN_2024 + 9 * step, JAN_2024 + 3000 * DAY];
    for (const ts of probes) {
      used.bars('p', ts - 7 * step, 20);
      expect(used.barAt('p', ts)).toEqual(new SyntheticSeries(5, 'AAA', '15m').barAt('p', ts));
    }
  });

  it('is identical across instances and differs across seeds and symbols', () => {
    const a = new SyntheticSeries(7, 'AAA', '5m').bars('p', JAN_2024, 1000);
    const b = new SyntheticSeries(7, 'AAA', '5m').bars('p', JAN_2024, 1000);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const closes = (bars: Bar[]) => bars.map((bar) => bar.close);
    const otherSeed = new SyntheticSeries(8, 'AAA', '5m').bars('p', JAN_2024, 1000);
    const otherSymbol = new SyntheticSeries(7, 'AAB', '5m').bars('p', JAN_2024, 1000);
    const bigSeed = new SyntheticSeries(7 + 2 ** 32, 'AAA', '5m').bars('p', JAN_2024, 1000);
    for (const other of [otherSeed, otherSymbol, bigSeed]) {
      const same = closes(other).filter((close, i) => close === a[i]?.close).length;
      expect(same).toBeLessThan(50);
    }
  });

  it('has a validity check that does catch broken bars', () => {
    const bad = {
      provider: 'p',
      symbol: 'A',
      interval: '1m',
      ts: 0,
      open: 2,
      high: 3,
      low: 1,
      close: 2,
      volume: 1,
      vwap: 2,
      tradeCount: 1,
    } satisfies Bar;
    expect(invalidReason(bad)).toBeUndefined();
    expect(invalidReason({ ...bad, high: 1.5 })).toBe('high below open/close');
    expect(invalidReason({ ...bad, low: 2.5 })).toBe('low above open/close');
    expect(invalidReason({ ...bad, vwap: 4 })).toBe('vwap outside [low, high]');
    expect(invalidReason({ ...bad, volume: -1 })).toBe('volume not a non-negative integer');
    expect(invalidReason({ ...bad, close: Number.NaN })).toBe('not finite');
  });

  it('follows one continuous price path: a close is the next open, and intervals share opens', () => {
    const minutes = new SyntheticSeries(3, 'XYZ', '1m').bars('p', JAN_2024, 600);
    for (let i = 1; i < minutes.length; i++) {
      expect(minutes[i]?.open).toBe(minutes[i - 1]?.close);
    }
    const hours = new SyntheticSeries(3, 'XYZ', '1h').bars('p', JAN_2024, 10);
    hours.forEach((hour, i) => {
      expect(hour.open).toBe(minutes[i * 60]?.open);
      expect(hour.close).toBe(minutes[i * 60 + 59]?.close);
    });
  });

  it('looks like a market: small minute moves, bounded drift over years', () => {
    const minutes = new SyntheticSeries(11, 'MSFT', '1m').bars('p', JAN_2024, 10_000);
    const returns = minutes.map((bar) => Math.log(bar.close / bar.open));
    const rms = Math.sqrt(returns.reduce((sum, r) => sum + r * r, 0) / returns.length);
    expect(rms).toBeGreaterThan(0.0002);
    expect(rms).toBeLessThan(0.003);
    expect(new Set(minutes.map((bar) => bar.close)).size).toBeGreaterThan(50);

    const days = new SyntheticSeries(11, 'MSFT', '1d').bars('p', Date.UTC(2000, 0, 1), 9000);
    const closes = days.map((bar) => bar.close);
    expect(Math.max(...closes) / Math.min(...closes)).toBeLessThan(12);
    const dayMoves = days.map((bar) => Math.abs(bar.close / bar.open - 1));
    expect(Math.max(...dayMoves)).toBeLessThan(0.2);
    expect(days.every((bar) => bar.ts % DAY === 0)).toBe(true);
  });

  it('refuses an open time that is not aligned to its interval', () => {
    const series = new SyntheticSeries(1, 'AAA', '5m');
    expect(() => series.barAt('p', JAN_2024 + MINUTE)).toThrow(RangeError);
    expect(() => series.bars('p', JAN_2024 + 1, 3)).toThrow(/not aligned to the 5m interval/);
  });
});
