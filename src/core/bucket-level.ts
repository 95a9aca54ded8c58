/*
 * A token bucket as data plus pure functions, so the in-process bucket (pipeline/policies) and
 * the bucket a store keeps for every process (store/*-provider-budgets) follow one rule: over any
 * window of W ms at most `burst + W * ratePerMs` takes are granted.
 *
 * The PostgreSQL store runs this rule in SQL, so a take is one round trip
 * (store/postgres/postgres-budget-rule.ts): a change here needs a migration replacing those
 * functions; test/store/budget-rule-conformance.test.ts fails until it exists.
 */

/** What a bucket holds at `updatedAt` (ms on whatever clock its owner reads). */
export interface BucketLevel {
  readonly tokens: number;
  /** Lies in the future during a pause or a phase margin: no refill until it has passed. */
  readonly updatedAt: number;
  /** When the bucket last became full; -Infinity when it never was. */
  readonly fullSince: number;
}

/** A provider's rate, from its `pacing:` config. */
export interface BucketRate {
  readonly burst: number;
  readonly ratePerMs: number;
  /** See DEFAULT_PHASE_MARGIN_MS in pipeline/policies/token-bucket.ts. */
  readonly phaseMarginMs: number;
  /**
   * When the margin is paid. `quiet` (default): by a take from a bucket that sat full for
   * phaseMarginMs, which starts a busy period. `near-full`: by every take that leaves a token
   * behind (demand fell below the rate) from a bucket within phaseMarginMs of full, in part (what
   * the refill to full has not covered yet): the server's bucket, which the margin keeps ahead of
   * ours, may be full and capped then, and restarts its clock at the arrival of that request,
   * however late it travels. A stream at the full rate takes its last token and pays nothing.
   * See sharedBucketRate.
   */
  readonly margin?: 'quiet' | 'near-full';
}

/**
 * What each take of a bucket of one token pays (see takeToken), as a share of the interval
 * between tokens: a request may reach the server this much sooner after the one before than our
 * takes were apart (6 ms at 300 a minute, 30 ms at 60) and still find its token. 3% keeps 97% of
 * the rate; more would break the promise of using at least 95% of the budget.
 */
export const BURST_ONE_MARGIN_SHARE = 0.03;

/**
 * The margin each take of a bucket of one token pays: BURST_ONE_MARGIN_SHARE of the interval,
 * never more than the rate's phase margin.
 */
export function burstOneMarginMs(rate: BucketRate): number {
  return Math.min(rate.phaseMarginMs, BURST_ONE_MARGIN_SHARE / rate.ratePerMs);
}

/** The answer to one take: granted (waitMs 0), or how long to wait before asking again. */
export interface BucketTake {
  readonly level: BucketLevel;
  readonly waitMs: number;
}

/** A bucket nobody has taken from yet: full. */
export function fullBucket(rate: BucketRate, now: number): BucketLevel {
  return { tokens: rate.burst, updatedAt: now, fullSince: -Infinity };
}

/** The level at `now`, refilled since `updatedAt` (unchanged while a pause lasts). */
export function refilled(level: BucketLevel, rate: BucketRate, now: number): BucketLevel {
  if (now <= level.updatedAt) return level;
  const reached = level.tokens + (now - level.updatedAt) * rate.ratePerMs;
  // A burst smaller than the stored tokens (the config changed) caps them at once.
  const tokens = Math.min(rate.burst, reached);
  const fullSince =
    reached >= rate.burst && level.tokens < rate.burst
      ? level.updatedAt + (rate.burst - level.tokens) / rate.ratePerMs
      : level.fullSince;
  return { tokens, updatedAt: now, fullSince };
}

/** Takes one token at `now` if there is one; otherwise says how long until there is. */
export function takeToken(level: BucketLevel, rate: BucketRate, now: number): BucketTake {
  const current = refilled(level, rate, now);
  if (current.tokens >= 1) {
    const shiftMs = marginShiftMs(current, rate, now);
    const updatedAt = shiftMs > 0 ? Math.max(current.updatedAt, now + shiftMs) : current.updatedAt;
    return { level: { ...current, tokens: current.tokens - 1, updatedAt }, waitMs: 0 };
  }
  const pausedFor = Math.max(0, current.updatedAt - now);
  const waitMs = Math.max(1, pausedFor + (1 - current.tokens) / rate.ratePerMs);
  return { level: current, waitMs };
}

/**
 * How far past `now` a take from `current` moves the refill clock. Only a bucket that sat full (a
 * quiet period) starts a new busy period and pays the whole margin; one that just refilled to its
 * last token is mid-stream and keeps its phase, except a bucket of one token: the server's bucket
 * of one is full, capped, at every request we send on time, and restarts its clock at that
 * request's arrival, so the lead a margin paid once gives is gone after one request and each
 * take pays burstOneMarginMs (what a request may travel faster than the one before it).
 */
function marginShiftMs(current: BucketLevel, rate: BucketRate, now: number): number {
  if (rate.margin === 'near-full' && rate.burst >= 2) {
    return current.tokens >= 2
      ? rate.phaseMarginMs - (rate.burst - current.tokens) / rate.ratePerMs
      : 0;
  }
  if (current.tokens < rate.burst) return 0;
  if (now - current.fullSince >= rate.phaseMarginMs) return rate.phaseMarginMs;
  return rate.burst < 2 ? burstOneMarginMs(rate) : 0;
}

/**
 * The level after a pause until `until`: empty then, so the end of a cooldown is not followed by
 * a burst. A pause ending before one already set changes nothing. Needs no rate: what the bucket
 * had refilled by now is lost anyway.
 */
export function pausedUntil(level: BucketLevel, until: number): BucketLevel {
  return until > level.updatedAt ? { ...level, tokens: 0, updatedAt: until } : level;
}

/**
 * The rate and burst a bucket shared by processes holds every taker to, and when a taker last
 * asserted each: the strictest any of them asked for recently. Processes that configure one
 * provider differently (a config edited, only some restarted) each take at their own rate; a
 * bucket refilled at each taker's own rate would hold them together to the most generous one.
 */
export interface HeldRate {
  readonly ratePerMs: number;
  readonly rateAssertedAt: number;
  readonly burst: number;
  readonly burstAssertedAt: number;
}

/**
 * How long a held rate or burst outlives its last assertion (a take asking for it or stricter),
 * at least: long enough that a process held to it and waiting for tokens, or following a live
 * job once a minute, asserts it again well before; short enough that a limit raised in every
 * config takes effect minutes after the last strict process is gone or reloaded. Written into
 * the PostgreSQL store's SQL (migration 9), as HELD_RATE_INTERVALS: a change needs a migration.
 */
export const HELD_RATE_MS = 5 * 60_000;

/**
 * Intervals of the held rate a held value outlives its last assertion, when longer than
 * HELD_RATE_MS: a process held to 25 requests a day asks about once an hour.
 */
export const HELD_RATE_INTERVALS = 3;

/**
 * What a take asking for `own` finds the bucket holding at `now`: for each of rate and burst,
 * `own` if it is as strict or stricter than the held one, or the held one is stale (see
 * HELD_RATE_MS) or missing (asserted now, either way); else the held one, its assertion kept.
 */
export function heldRate(held: HeldRate | undefined, own: BucketRate, now: number): HeldRate {
  if (held === undefined) {
    return {
      ratePerMs: own.ratePerMs,
      rateAssertedAt: now,
      burst: own.burst,
      burstAssertedAt: now,
    };
  }
  const holdMs = Math.max(HELD_RATE_MS, HELD_RATE_INTERVALS / held.ratePerMs);
  const keepRate = own.ratePerMs > held.ratePerMs && now - held.rateAssertedAt < holdMs;
  const keepBurst = own.burst > held.burst && now - held.burstAssertedAt < holdMs;
  return {
    ratePerMs: keepRate ? held.ratePerMs : own.ratePerMs,
    rateAssertedAt: keepRate ? held.rateAssertedAt : now,
    burst: keepBurst ? held.burst : own.burst,
    burstAssertedAt: keepBurst ? held.burstAssertedAt : now,
  };
}

/** `own` with the held rate and burst: what a shared bucket's take is refilled and capped by. */
export function heldTo(own: BucketRate, held: HeldRate): BucketRate {
  return { ...own, ratePerMs: held.ratePerMs, burst: held.burst };
}
