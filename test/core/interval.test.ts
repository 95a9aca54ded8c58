import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INTERVALS, alignDown, alignUp, intervalMs, isInterval } from '../../src/core/interval.js';

const T = Date.parse('2024-03-05T10:07:30Z');

describe('intervals', () => {
  it('knows the config intervals and their lengths', () => {
    expect(INTERVALS).toEqual(['1m', '5m', '15m', '30m', '1h', '4h', '1d']);
    expect(INTERVALS.map(intervalMs)).toEqual([
      60_000, 300_000, 900_000, 1_800_000, 3_600_000, 14_400_000, 86_400_000,
    ]);
    expect(isInterval('4h')).toBe(true);
    expect(isInterval('2m')).toBe(false);
    expect(isInterval(60_000)).toBe(false);
  });

  it('aligns to UTC bar boundaries', () => {
    expect(new Date(alignDown(T, '5m')).toISOString()).toBe('2024-03-05T10:05:00.000Z');
    expect(new Date(alignUp(T, '5m')).toISOString()).toBe('2024-03-05T10:10:00.000Z');
    expect(new Date(alignDown(T, '4h')).toISOString()).toBe('2024-03-05T08:00:00.000Z');
    expect(new Date(alignUp(T, '4h')).toISOString()).toBe('2024-03-05T12:00:00.000Z');
    expect(new Date(alignDown(T, '1d')).toISOString()).toBe('2024-03-05T00:00:00.000Z');
    expect(new Date(alignUp(T, '1d')).toISOString()).toBe('2024-03-06T00:00:00.000Z');
  });

  it('leaves an aligned time where it is', () => {
    const aligned = Date.parse('2024-03-05T10:15:00Z');
    expect(alignUp(aligned, '15m')).toBe(aligned);
    expect(alignDown(aligned, '15m')).toBe(aligned);
  });

  it('alignDown <= ts <= alignUp, both aligned, less than one bar apart', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.constantFrom(...INTERVALS),
        (ts, interval) => {
          const step = intervalMs(interval);
          const down = alignDown(ts, interval);
          const up = alignUp(ts, interval);
          expect(down % step).toBe(0);
          expect(up % step).toBe(0);
          expect(down).toBeLessThanOrEqual(ts);
          expect(up).toBeGreaterThanOrEqual(ts);
          expect(up - down).toBe(ts % step === 0 ? 0 : step);
        },
      ),
    );
  });
});
