/** Which way a series' times went at its last step that moved. */
export type TimeDirection = 'ascending' | 'descending' | 'unknown';

/** Where a series read in file order stands: the instant of its row before, and its direction. */
export interface SeriesPosition {
  /** The instant of the series' row before; -Infinity before its first row. */
  readonly previous: number;
  readonly direction: TimeDirection;
}

/** A series before its first row. */
export const SERIES_START: SeriesPosition = {
  previous: Number.NEGATIVE_INFINITY,
  direction: 'unknown',
};

/**
 * Follows a series row by row, so that a wall-clock time repeated when clocks go back can be read
 * by the rows around it. Mutable, one per series: a file of millions of rows allocates nothing
 * per row.
 */
export class SeriesOrder implements SeriesPosition {
  previous: number;
  direction: TimeDirection;

  constructor(from: SeriesPosition = SERIES_START) {
    this.previous = from.previous;
    this.direction = from.direction;
  }

  /** Records the next row's instant; a row at the same instant leaves the direction as it was. */
  advance(instant: number): void {
    if (this.previous !== Number.NEGATIVE_INFINITY) {
      if (instant > this.previous) this.direction = 'ascending';
      else if (instant < this.previous) this.direction = 'descending';
    }
    this.previous = instant;
  }

  /** A copy of where the series stands now, to resume reading from it later. */
  position(): SeriesPosition {
    return { previous: this.previous, direction: this.direction };
  }
}

/**
 * Which of the two instants (`first` < `second`) a repeated wall-clock time means, read at `at`.
 * A series that ascends goes on to the earliest instant after its row before, one that descends
 * back to the latest instant before it; so a file in either order gets each of the two hours once.
 * When the direction is not known yet, the nearer instant; before any row, the earlier one (as
 * Temporal's `compatible` disambiguation).
 */
export function repeatedInstant(first: number, second: number, at: SeriesPosition): number {
  const { previous } = at;
  if (previous === Number.NEGATIVE_INFINITY) return first;
  switch (at.direction) {
    case 'ascending':
      return first > previous || second <= previous ? first : second;
    case 'descending':
      return second < previous || first >= previous ? second : first;
    case 'unknown':
      return Math.abs(second - previous) < Math.abs(first - previous) ? second : first;
  }
}
