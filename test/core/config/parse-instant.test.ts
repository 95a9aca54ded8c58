import { describe, expect, it } from 'vitest';
import {
  instantProblem,
  missingDate,
  parseInstant,
} from '../../../src/core/config/config-schema.js';

describe('parseInstant and instantProblem: a window bound names no moment that does not exist', () => {
  it('years 0000 to 0099 follow the proleptic Gregorian calendar, not 1900 to 1999', () => {
    // Year 0 is a leap year (divisible by 400); 1900, which Date.UTC(0, …) means, is not.
    expect(missingDate('0000-02-29')).toBeUndefined();
    expect(parseInstant('0000-02-29')).toBe(Date.parse('0000-02-29T00:00:00Z'));
    expect(parseInstant('0004-02-29T12:00:00Z')).toBe(Date.parse('0004-02-29T12:00:00Z'));
    expect(instantProblem('0001-02-29')).toBe('is not a date: February 0001 has 28 days');
    expect(instantProblem('0100-02-29')).toBe('is not a date: February 0100 has 28 days');
    expect(parseInstant('0100-02-29')).toBeUndefined();
  });

  it.each([
    ['2024-02-29T25:00:00Z', 'there is no hour 25 (hours run from 00 to 23)'],
    ['2024-02-29T24:30:00Z', 'there is no 24:30 (hours run from 00 to 23; 24:00 ends a day)'],
    ['2024-02-29T23:60Z', 'there is no minute 60 (minutes run from 00 to 59)'],
    ['2024-02-29T23:59:60Z', 'there is no second 60 (seconds run from 00 to 59)'],
    ['2024-02-29T10:00:00+25:00', 'there is no UTC offset +25:00 (offsets run up to ±23:59)'],
    ['2024-02-29T10:00:00-0560', 'there is no UTC offset -0560 (offsets run up to ±23:59)'],
  ])('%s is refused, naming what does not exist', (text, why) => {
    expect(parseInstant(text)).toBeUndefined();
    expect(instantProblem(text)).toBe(`is not a time: ${why}`);
  });

  it('the date is checked first, and a real time still reads', () => {
    expect(instantProblem('2023-02-29T25:00:00Z')).toBe('is not a date: February 2023 has 28 days');
    expect(parseInstant('2024-02-29T23:59:59.999Z')).toBe(Date.parse('2024-02-29T23:59:59.999Z'));
    expect(parseInstant('2024-02-29T24:00:00Z')).toBe(Date.parse('2024-03-01T00:00:00Z'));
    expect(parseInstant('2024-02-29T10:00:00+23:59')).toBe(Date.parse('2024-02-29T10:00:00+23:59'));
  });
});
