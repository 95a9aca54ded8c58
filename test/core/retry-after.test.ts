import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/core/retry-after.js';

const NOW = Date.parse('2015-10-21T07:27:30Z');

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    ['0', 0],
    [' 3 ', 3_000],
    ['1.5', 1_500],
  ])('delay-seconds %j → %i ms', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it('an HTTP-date counts from now', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', NOW)).toBe(30_000);
  });

  it('an HTTP-date in the past means retry now', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', NOW)).toBe(0);
  });

  it.each([
    undefined,
    null,
    '',
    'soon',
    '-5',
    '2015-10-21T07:28:00Z',
    'Wed, 99 Foo 2015 07:28:00 GMT',
  ])('%j is not a Retry-After value', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});
