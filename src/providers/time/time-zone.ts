import { repeatedInstant, SERIES_START, type SeriesPosition } from './series-order.js';

const DAY_MS = 86_400_000;
/**
 * Every UTC offset change of the tz database falls on a quarter hour of UTC (zones with :30 and
 * :45 offsets included), so one offset per quarter-hour bucket is exact.
 */
const BUCKET_MS = 15 * 60_000;
/** Enough buckets for years of quarter hours; past it the cache starts over rather than grow. */
const MAX_CACHED = 1 << 18;

/**
 * An IANA time zone through Intl, with offsets memoised per quarter hour: converting millions of
 * naive CSV timestamps costs a map lookup each, not an Intl call.
 */
export class TimeZone {
  private readonly format: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();

  /** Throws a RangeError for a zone the runtime does not know. */
  constructor(readonly name: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Milliseconds to add to a UTC instant to get the wall clock of this zone at that instant. */
  offsetAt(instant: number): number {
    const bucket = Math.floor(instant / BUCKET_MS);
    let offset = this.offsets.get(bucket);
    if (offset === undefined) {
      offset = this.computeOffset(bucket * BUCKET_MS);
      if (this.offsets.size >= MAX_CACHED) this.offsets.clear();
      this.offsets.set(bucket, offset);
    }
    return offset;
  }

  /**
   * The instant at which this zone's wall clock reads `wall` (the wall-clock fields written as if
   * they were UTC). Like Temporal's `compatible` disambiguation: a time repeated when clocks go back
   * is the earlier instant; a time skipped when they go forward is moved forward by the gap. A
   * series read in order tells the repeats apart by where it stands (`at`: its row before and its
   * direction, see repeatedInstant), whether its rows ascend or descend.
   */
  toInstant(wall: number, at: SeriesPosition = SERIES_START): number {
    const before = this.offsetAt(wall - DAY_MS);
    const after = this.offsetAt(wall + DAY_MS);
    if (before === after) return wall - before;
    const early = wall - before;
    const late = wall - after;
    const earlyValid = this.offsetAt(early) === before;
    const lateValid = this.offsetAt(late) === after;
    if (earlyValid && lateValid) {
      return early < late ? repeatedInstant(early, late, at) : repeatedInstant(late, early, at);
    }
    if (earlyValid) return early;
    if (lateValid) return late;
    return early; // in the gap: the offset before the change lands after it
  }

  /** UTC midnight of this zone's calendar date at `instant`: how mdp stamps a daily bar. */
  dateOf(instant: number): number {
    const wall = instant + this.offsetAt(instant);
    return Math.floor(wall / DAY_MS) * DAY_MS;
  }

  private computeOffset(instant: number): number {
    const parts: Record<string, number> = {};
    for (const part of this.format.formatToParts(instant)) {
      if (part.type !== 'literal') parts[part.type] = Number(part.value);
    }
    const wall = Date.UTC(
      parts.year as number,
      (parts.month as number) - 1,
      parts.day as number,
      parts.hour as number,
      parts.minute as number,
      parts.second as number,
    );
    return wall - Math.floor(instant / 1000) * 1000;
  }
}

/** US equities trade on New York time: daily bars of Polygon and Alpaca open at its midnight. */
export const NEW_YORK = 'America/New_York';
