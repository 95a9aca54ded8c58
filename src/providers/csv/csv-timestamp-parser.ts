import { SERIES_START, type SeriesPosition } from '../time/series-order.js';
import { TimeZone } from '../time/time-zone.js';
import { parseDecimal } from './parse-decimal.js';

/** How a CSV writes its timestamps (config `timestamp.format`). */
export type CsvTimestampFormat = 'iso' | 'epoch_s' | 'epoch_ms' | 'epoch_us' | 'epoch_ns';

/** What a timestamp cell should look like, for messages. */
const EXPECTED: Readonly<Record<CsvTimestampFormat, string>> = {
  iso: 'an ISO-8601 time such as 2024-01-02T09:30:00Z, 2024-01-02 09:30:00 or 2024-01-02',
  epoch_s: 'epoch seconds such as 1704187800',
  epoch_ms: 'epoch milliseconds such as 1704187800000',
  epoch_us: 'epoch microseconds such as 1704187800000000',
  epoch_ns: 'epoch nanoseconds such as 1704187800000000000',
};

const ZERO = 48;
const SPACE = 32;
const TAB = 9;

/**
 * Reads a bar's open time from a CSV cell as epoch milliseconds, or NaN when the cell is not a
 * time in the configured format. ISO times without `Z` or an offset are wall-clock times in the
 * configured zone; a date alone is that date's daily bar, stamped at its UTC midnight like every
 * daily bar in mdp, whatever the zone. Sub-millisecond parts are kept as a fraction, so a time
 * that is not on the interval is rejected as unaligned rather than silently rounded.
 *
 * Cells are read in place (`text` from `start` to `end`) without allocating: a large file has tens
 * of millions of them.
 */
export class CsvTimestampParser {
  private readonly zone: TimeZone | undefined;
  /** The last date read and its UTC midnight (NaN: not a date): rows of a day share it. */
  private lastDateKey = -1;
  private lastDateMs = Number.NaN;

  constructor(
    readonly format: CsvTimestampFormat,
    timeZone: string,
  ) {
    this.zone = timeZone === 'UTC' || timeZone === 'Etc/UTC' ? undefined : new TimeZone(timeZone);
  }

  /** What the cell should have looked like. */
  get expected(): string {
    return EXPECTED[this.format];
  }

  /**
   * The time in `text` between `start` and `end` (surrounding blanks ignored). `position` is where
   * the series stands (its row before and its direction), which tells apart a wall-clock time
   * repeated when clocks go back (see TimeZone.toInstant).
   */
  parse(
    text: string,
    start = 0,
    end = text.length,
    position: SeriesPosition = SERIES_START,
  ): number {
    while (start < end && isBlank(text.charCodeAt(start))) start++;
    while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
    if (start === end) return Number.NaN;
    switch (this.format) {
      case 'iso':
        return this.iso(text, start, end, position);
      case 'epoch_s':
        return parseDecimal(text, start, end) * 1000;
      case 'epoch_ms':
        return parseDecimal(text, start, end);
      case 'epoch_us':
        return parseDecimal(text, start, end) / 1000;
      case 'epoch_ns':
        return epochNanos(text, start, end);
    }
  }

  /** `YYYY-MM-DD[(T| )HH:MM[:SS[(.|,)fffffffff]]][ ][Z|±HH[[:]MM]]`, read by position. */
  private iso(text: string, start: number, end: number, position: SeriesPosition): number {
    if (end - start < 10) return Number.NaN;
    const year = digits(text, start, 4);
    const month = digits(text, start + 5, 2);
    const day = digits(text, start + 8, 2);
    if (
      text.charCodeAt(start + 4) !== 45 /* - */ ||
      text.charCodeAt(start + 7) !== 45 ||
      Number.isNaN(year + month + day)
    ) {
      return Number.NaN;
    }
    const date = this.dateMs(year, month, day);
    let at = start + 10;
    if (at === end || Number.isNaN(date)) return at === end ? date : Number.NaN;
    const separator = text.charCodeAt(at);
    if (separator !== 84 /* T */ && separator !== 116 /* t */ && separator !== SPACE) {
      return Number.NaN;
    }
    // Every read stays before `end`: the cell is a slice of a longer line.
    if (at + 6 > end) return Number.NaN;
    const hours = digits(text, at + 1, 2);
    const minutes = digits(text, at + 4, 2);
    if (text.charCodeAt(at + 3) !== 58 /* : */ || !(hours <= 23 && minutes <= 59)) {
      return Number.NaN;
    }
    at += 6;
    let seconds = 0;
    let fraction = 0;
    if (at < end && text.charCodeAt(at) === 58) {
      if (at + 3 > end) return Number.NaN;
      seconds = digits(text, at + 1, 2);
      if (!(seconds <= 59)) return Number.NaN;
      at += 3;
      const mark = at < end ? text.charCodeAt(at) : 0;
      if (mark === 46 /* . */ || mark === 44 /* , */) {
        let scale = 100; // the first fraction digit is hundreds of milliseconds
        let count = 0;
        for (at += 1; at < end; at++) {
          const digit = text.charCodeAt(at) - ZERO;
          if (digit < 0 || digit > 9) break;
          if (++count > 9) return Number.NaN;
          fraction += digit * scale;
          scale /= 10;
        }
        if (count === 0) return Number.NaN;
      }
    }
    const wall = date + ((hours * 60 + minutes) * 60 + seconds) * 1000 + fraction;
    while (at < end && isBlank(text.charCodeAt(at))) at++;
    if (at === end) return this.zone ? this.zone.toInstant(wall, position) : wall;
    const offset = zoneOffsetMs(text, at, end);
    return wall - offset;
  }

  /** UTC midnight of a calendar date, or NaN for one that does not exist (2024-02-30). */
  private dateMs(year: number, month: number, day: number): number {
    const key = (year * 100 + month) * 100 + day;
    if (key !== this.lastDateKey) {
      // setUTCFullYear, unlike Date.UTC, does not take years 0 to 99 for 1900 to 1999.
      const check = new Date(0);
      check.setUTCFullYear(year, month - 1, day);
      this.lastDateMs =
        check.getUTCFullYear() === year &&
        check.getUTCMonth() === month - 1 &&
        check.getUTCDate() === day
          ? check.getTime()
          : Number.NaN;
      this.lastDateKey = key;
    }
    return this.lastDateMs;
  }
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}

/** `count` decimal digits at `at` as a number, or NaN. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - ZERO;
    if (!(digit >= 0 && digit <= 9)) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

/** `Z`, `+05:30`, `-0400` or `+02` from `at` to `end`, as milliseconds east of UTC; NaN otherwise. */
function zoneOffsetMs(text: string, at: number, end: number): number {
  const first = text.charCodeAt(at);
  if ((first === 90 /* Z */ || first === 122) /* z */ && at + 1 === end) return 0;
  if ((first !== 43 /* + */ && first !== 45) /* - */ || at + 3 > end) return Number.NaN;
  const hours = digits(text, at + 1, 2);
  let rest = at + 3;
  const colon = rest < end && text.charCodeAt(rest) === 58;
  if (colon) rest += 1;
  if (rest + 2 !== end && (colon || rest !== end)) return Number.NaN;
  const minutes = rest === end ? 0 : digits(text, rest, 2);
  return (first === 45 ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}

/**
 * Nanoseconds exceed 2^53, so they are read in two parts: whole milliseconds and the rest, which
 * stays as a fraction (non-zero only for a time off the millisecond).
 */
function epochNanos(text: string, start: number, end: number): number {
  const negative = text.charCodeAt(start) === 45;
  const from = negative ? start + 1 : start;
  if (end - from <= 6 || Number.isNaN(digits(text, from, end - from))) {
    return parseDecimal(text, start, end) / 1e6;
  }
  const millis = parseDecimal(text, from, end - 6) + parseDecimal(text, end - 6, end) / 1e6;
  return negative ? -millis : millis;
}
