import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeDuration, formatDuration, parseDuration } from '../../src/core/duration.js';

describe('parseDuration', () => {
  it('reads a number and a unit into milliseconds', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration(' 2h ')).toBe(7_200_000);
    expect(parseDuration('0s')).toBe(0);
  });

  it('rejects what is not a duration', () => {
    for (const text of ['', '2', 'h', '2 h', '-2h', '2w', '2H', '2hours', '1h30m', '.5h', 'NaNs']) {
      expect(parseDuration(text), text).toBeUndefined();
    }
  });
});

describe('formatDuration', () => {
  it('writes the largest unit that divides exactly', () => {
    expect(formatDuration(7_200_000)).toBe('2h');
    expect(formatDuration(Infinity)).toBe('forever');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(5_400_000)).toBe('90m');
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(1_500)).toBe('1500ms');
    expect(formatDuration(0)).toBe('0ms');
  });

  it('round-trips through parseDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 365 * 86_400_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});

describe('describeDuration', () => {
  it('writes a wait the way a person reads it', () => {
    expect(describeDuration(9_999_999_000)).toBe('115d 17h 46m 39s');
    expect(describeDuration(15 * 60_000)).toBe('15m');
    expect(describeDuration(90_000)).toBe('1m 30s');
    expect(describeDuration(3_600_000 + 500)).toBe('1h 0.5s');
    expect(describeDuration(1_500)).toBe('1.5s');
    expect(describeDuration(250)).toBe('250ms');
    expect(describeDuration(0)).toBe('0ms');
    expect(describeDuration(Infinity)).toBe('forever');
  });
});
