import { Cron, CronPattern } from 'croner';

/**
 * Five fields (minute first), or six with a leading seconds field; croner's seven-field form
 * (with years) is refused so `* * * * * *` always means every second, never a year.
 */
const MODE = '5-or-6-parts';

/**
 * Why `expression` is not a schedule mdp takes (croner's reason, or that it never fires), or
 * undefined when it is one.
 */
export function cronProblem(expression: string): string | undefined {
  try {
    new CronPattern(expression, undefined, { mode: MODE });
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    return `"${expression}" is not a cron expression (${reason.replace(/^CronPattern: /, '')}): write five fields, minute hour day-of-month month day-of-week, e.g. "30 18 * * 1-5", or six with a leading seconds field, e.g. "*/10 * * * * *"`;
  }
  // Croner accepts dates that no calendar has (30 February): such a job would never run.
  if (new Cron(expression, { mode: MODE, paused: true }).nextRun() === null) {
    return `"${expression}" never fires (no date matches it, e.g. 30 February): fix the day-of-month or month field`;
  }
  return undefined;
}

/** Ticks found before a start, for catch-up: the newest few and how many there were. */
export interface MissedTicks {
  /** At most `limit` ticks, the newest ones, oldest first. */
  readonly newest: readonly number[];
  /** How many ticks fell in the span, counted up to `countLimit`. */
  readonly count: number;
  /** True when the count stopped at `countLimit` (there may be more). */
  readonly countCapped: boolean;
}

/**
 * A job's cron schedule in its IANA time zone. Ticks are epoch milliseconds (whole seconds);
 * daylight saving follows croner: a fixed time of day that does not exist on a spring-forward
 * day fires at the first time after the gap, and one that occurs twice fires once.
 */
export class CronSchedule {
  private readonly cron: Cron;

  constructor(
    readonly expression: string,
    readonly timeZone: string,
  ) {
    // Without a callback croner starts no timer: the schedule is only arithmetic.
    this.cron = new Cron(expression, { mode: MODE, timezone: timeZone, paused: true });
  }

  /** The first tick strictly after `afterMs`, or undefined when there is none. */
  nextTick(afterMs: number): number | undefined {
    return this.cron.nextRun(new Date(afterMs))?.getTime();
  }

  /** The next `n` ticks strictly after `afterMs`, oldest first. */
  nextTicks(n: number, afterMs: number): number[] {
    return this.cron.nextRuns(n, new Date(afterMs)).map((date) => date.getTime());
  }

  /**
   * Ticks in `(afterMs, untilMs]`: the newest `limit` oldest first, and how many (counting stops
   * at `countLimit`, as each tick costs a croner step). `afterMs` undefined: no span, none.
   */
  missedTicks(
    afterMs: number | undefined,
    untilMs: number,
    limit: number,
    countLimit = 1_000,
  ): MissedTicks {
    if (afterMs === undefined || afterMs >= untilMs) {
      return { newest: [], count: 0, countCapped: false };
    }
    // previousRuns counts back from strictly before its reference: 1 ms on includes untilMs.
    const newest = this.cron
      .previousRuns(limit, new Date(untilMs + 1))
      .map((date) => date.getTime())
      .filter((tick) => tick > afterMs)
      .reverse();
    if (newest.length < limit) return { newest, count: newest.length, countCapped: false };
    let count = 0;
    for (let tick = this.nextTick(afterMs); tick !== undefined && tick <= untilMs;) {
      count += 1;
      if (count >= countLimit) return { newest, count, countCapped: true };
      tick = this.nextTick(tick);
    }
    return { newest, count, countCapped: false };
  }
}
