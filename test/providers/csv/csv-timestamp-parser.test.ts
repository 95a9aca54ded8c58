import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvTimestampParser } from '../../../src/providers/csv/csv-timestamp-parser.js';
import { parseDecimal } from '../../../src/providers/csv/parse-decimal.js';
import { SeriesOrder } from '../../../src/providers/time/series-order.js';

const iso = (zone = 'UTC') => new CsvTimestampParser('iso', zone);
const utc = (text: string): number => Date.parse(text);

describe('CsvTimestampParser', () => {
  it('reads the ISO-8601 forms bar files use', () => {
    const parser = iso();
    expect(parser.parse('2024-01-02T14:30:00Z')).toBe(utc('2024-01-02T14:30:00Z'));
    expect(parser.parse('2024-01-02 14:30:00')).toBe(utc('2024-01-02T14:30:00Z'));
    expect(parser.parse('2024-01-02t14:30')).toBe(utc('2024-01-02T14:30:00Z'));
    expect(parser.parse(' 2024-01-02T14:30:00.250Z ')).toBe(utc('2024-01-02T14:30:00.250Z'));
    expect(parser.parse('2024-01-02T14:30:00,5')).toBe(utc('2024-01-02T14:30:00.500Z'));
    expect(parser.parse('2024-01-02T09:30:00-05:00')).toBe(utc('2024-01-02T14:30:00Z'));
    expect(parser.parse('2024-01-02T20:00:00+0530')).toBe(utc('2024-01-02T14:30:00Z'));
    expect(parser.parse('2024-01-02T16:30:00+02')).toBe(utc('2024-01-02T14:30:00Z'));
    expect(parser.parse('2024-01-02T14:30:00 Z')).toBe(utc('2024-01-02T14:30:00Z'));
    expect(parser.parse('2024-01-02')).toBe(utc('2024-01-02T00:00:00Z'));
  });

  it('keeps nanoseconds as a fraction of a millisecond', () => {
    expect(iso().parse('2024-01-02T14:30:00.123456789Z')).toBeCloseTo(
      utc('2024-01-02T14:30:00.123Z') + 0.456789,
      6,
    );
  });

  it('reads a cell in place inside a longer line, never past its end', () => {
    const parser = iso('America/New_York');
    const line = '2024-03-08 09:30:00,1,2,0.5,1.5,10';
    expect(parser.parse(line, 0, 19)).toBe(utc('2024-03-08T14:30:00Z'));
    expect(parser.parse('x;2024-01-02T14:30;y', 2, 18)).toBe(utc('2024-01-02T19:30:00Z'));
    expect(parser.parse('2024-01-02T14:30:00+05:30', 0, 22)).toBe(utc('2024-01-02T09:30:00Z'));
    expect(parser.parse('2024-01-02T14:30:00+05:30', 0, 21)).toBeNaN();
    expect(parser.parse('2024-01-02T14:3,5', 0, 15)).toBeNaN();
  });

  it('reads years 0000 to 0099 as themselves, not as 1900 to 1999', () => {
    const parser = iso();
    expect(parser.parse('0050-01-02T14:30:00Z')).toBe(utc('0050-01-02T14:30:00Z'));
    // Year 0 is a leap year; 1900 is not.
    expect(parser.parse('0000-02-29')).toBe(utc('0000-02-29T00:00:00Z'));
    expect(parser.parse('0001-02-29')).toBeNaN();
  });

  it('rejects what is not a real time', () => {
    const parser = iso();
    for (const text of [
      '',
      '2024-02-30',
      '2024-13-01T00:00:00Z',
      '2024-01-02T24:00:00Z',
      '2024-01-02T14:60:00Z',
      '2024-01-02T14:30:61Z',
      '2024-01-02T14:30:00.Z',
      '2024-01-02X14:30:00',
      '2024/01/02 14:30:00',
      '2024-01-02T14:30:00+5',
      '2024-01-02T14:30:00+05:',
      '2024-01-02T14:30:00 EST',
      '1704205800',
    ]) {
      expect(parser.parse(text), text).toBeNaN();
    }
  });

  it('reads naive times in the configured zone, DST gaps forward and repeats as the earlier', () => {
    const parser = iso('America/New_York');
    expect(parser.parse('2024-01-02 09:30:00')).toBe(utc('2024-01-02T14:30:00Z'));
    expect(parser.parse('2024-07-02 09:30:00')).toBe(utc('2024-07-02T13:30:00Z'));
    // 02:30 on 2024-03-10 does not exist in New York: moved forward by the hour skipped.
    expect(parser.parse('2024-03-10 02:30:00')).toBe(utc('2024-03-10T07:30:00Z'));
    // 01:30 on 2024-11-03 happens twice: the first (EDT) one.
    expect(parser.parse('2024-11-03 01:30:00')).toBe(utc('2024-11-03T05:30:00Z'));
    // A date alone is the daily bar of that date, whatever the zone.
    expect(parser.parse('2024-07-02')).toBe(utc('2024-07-02T00:00:00Z'));
    expect(new CsvTimestampParser('iso', 'Asia/Kolkata').parse('2024-01-02 20:00')).toBe(
      utc('2024-01-02T14:30:00Z'),
    );
  });

  it.each([
    ['ascending', ['00:30', '01:00', '01:30', '01:00', '01:30', '02:00']],
    ['descending', ['02:00', '01:30', '01:00', '01:30', '01:00', '00:30']],
  ] as const)(
    'a repeated wall-clock time is told apart by row order, in a %s series',
    (order, times) => {
      const parser = iso('America/New_York');
      const series = new SeriesOrder();
      const instants = times.map((time) => {
        const text = `2024-11-03 ${time}`;
        const ms = parser.parse(text, 0, text.length, series);
        series.advance(ms);
        return new Date(ms).toISOString();
      });
      const expected = [
        '2024-11-03T04:30:00.000Z',
        '2024-11-03T05:00:00.000Z',
        '2024-11-03T05:30:00.000Z',
        '2024-11-03T06:00:00.000Z',
        '2024-11-03T06:30:00.000Z',
        '2024-11-03T07:00:00.000Z',
      ];
      expect(instants).toEqual(order === 'ascending' ? expected : [...expected].reverse());
    },
  );

  it('only a repeated time depends on where the series stands', () => {
    const parser = iso('America/New_York');
    const read = (text: string, previous: number): number =>
      parser.parse(text, 0, text.length, { previous, direction: 'ascending' });
    expect(read('2024-11-03 02:00', utc('2024-11-03T09:00:00Z'))).toBe(utc('2024-11-03T07:00:00Z'));
    expect(read('2024-07-02 09:30', utc('2024-07-03T00:00:00Z'))).toBe(utc('2024-07-02T13:30:00Z'));
  });

  it('agrees with Intl for every quarter hour of a year in a zone with DST', () => {
    const parser = iso('Europe/London');
    const format = new Intl.DateTimeFormat('sv-SE', {
      timeZone: 'Europe/London',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    for (let t = utc('2024-01-01T00:00:00Z'); t < utc('2025-01-01T00:00:00Z'); t += 15 * 60_000) {
      const wall = format.format(t); // 2024-03-31 02:15:00
      const back = parser.parse(wall);
      // Only the repeated hour of October reads as its first occurrence.
      if (back !== t) expect(format.format(back)).toBe(wall);
    }
  });

  it.each([
    ['epoch_s', '1704205800', utc('2024-01-02T14:30:00Z')],
    ['epoch_s', '1704205800.5', utc('2024-01-02T14:30:00.500Z')],
    ['epoch_ms', '1704205800000', utc('2024-01-02T14:30:00Z')],
    ['epoch_us', '1704205800000000', utc('2024-01-02T14:30:00Z')],
    ['epoch_ns', '1704205800000000000', utc('2024-01-02T14:30:00Z')],
    ['epoch_ns', '1704205800000000001', utc('2024-01-02T14:30:00Z') + 0.000001],
    ['epoch_ms', '', Number.NaN],
    ['epoch_ms', 'soon', Number.NaN],
  ] as const)('%s %j', (format, text, expected) => {
    const value = new CsvTimestampParser(format, 'UTC').parse(text);
    if (Number.isNaN(expected)) expect(value).toBeNaN();
    else expect(value).toBeCloseTo(expected, 6);
  });
});

describe('parseDecimal', () => {
  it('is Number() for every plain decimal, read in place', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
          fc
            .tuple(fc.integer({ min: -1e9, max: 1e9 }), fc.nat({ max: 99_999_999 }))
            .map(([whole, part]) => `${whole}.${String(part).padStart(8, '0')}`),
          fc.stringMatching(/^-?\d{1,20}(\.\d{0,25})?$/),
        ),
        (text) => {
          const line = `x,${text},y`;
          expect(Object.is(parseDecimal(line, 2, 2 + text.length), Number(text))).toBe(true);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('is NaN for an empty or non-numeric cell (Number would say 0 for an empty one)', () => {
    for (const text of ['', '-', '.', '1.2.3', 'abc', '1,5']) {
      expect(parseDecimal(text, 0, text.length), text).toBeNaN();
    }
  });
});
