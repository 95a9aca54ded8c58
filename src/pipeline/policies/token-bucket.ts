import {
  fullBucket,
  pausedUntil,
  refilled,
  takeToken,
  type BucketLevel,
  type BucketRate,
} from '../../core/bucket-level.js';
import type { Timing } from '../timing.js';
import { ArrivalQueue } from './arrival-queue.js';

/** Settings of one provider's bucket, from its `pacing:` config. */
export interface TokenBucketOptions {
  /** Bucket capacity: requests that may start at once after a quiet period. */
  readonly burst: number;
  readonly requestsPerMinute: number;
  /**
   * How much later than our own start the refill clock starts when a burst begins. See
   * DEFAULT_PHASE_MARGIN_MS.
   */
  readonly phaseMarginMs?: number;
}

/**
 * The server's bucket starts its refill clock when our first request *arrives*, a little after we
 * counted it as started; at the same rate the server then stays that much behind us for the whole
 * busy period, and a later request that travels faster than the first is refused. Starting our
 * refill a little late keeps us behind the server by more than that jitter, at the cost of this
 * many milliseconds once per busy period (the rate itself stays exact).
 */
export const DEFAULT_PHASE_MARGIN_MS = 25;

/** What the pipeline asks of a provider's pacing budget, in-process or shared through the store. */
export interface PacingBucket {
  /** Resolves when a request may start; rejects with the signal's reason at once if aborted first. */
  acquire(signal?: AbortSignal): Promise<void>;
  /**
   * Stops all starts for `ms` (the provider said we were too fast). The bucket restarts empty so
   * the end of a cooldown is not followed by a burst. Resolves once later takes see the pause.
   */
  pause(ms: number): void | Promise<void>;
  /** Milliseconds the budget needs to start `requests` requests from a full bucket. */
  estimateMs(requests: number): number;
}

/**
 * A token bucket on the monotonic clock: over any window of W seconds at most
 * `burst + W * rate` requests start. Waiters are served in arrival order.
 */
export class TokenBucket implements PacingBucket {
  private level: BucketLevel;
  private readonly queue = new ArrivalQueue();
  private rate: BucketRate;

  /**
   * `start` empty: for a bucket that replaces another pacing of the same provider (a reload),
   * which does not know what was sent just before.
   */
  constructor(
    options: TokenBucketOptions,
    private readonly timing: Timing,
    start: 'full' | 'empty' = 'full',
  ) {
    this.rate = bucketRate(options);
    const now = timing.monotonic();
    this.level =
      start === 'full' ? fullBucket(this.rate, now) : pausedUntil(fullBucket(this.rate, now), now);
  }

  /**
   * New settings for the same provider (a reload): the level refilled so far at the old rate is
   * kept, capped at the new burst, and so is a pause; waiters take their next token at the new rate.
   */
  reconfigure(options: TokenBucketOptions): void {
    const now = this.timing.monotonic();
    const level = refilled(this.level, this.rate, now);
    this.rate = bucketRate(options);
    this.level = { ...level, tokens: Math.min(level.tokens, this.rate.burst) };
  }

  acquire(signal?: AbortSignal): Promise<void> {
    return this.queue.turn(() => this.take(signal), signal);
  }

  pause(ms: number): void {
    this.level = pausedUntil(this.level, this.timing.monotonic() + ms);
  }

  estimateMs(requests: number): number {
    return estimatePacingMs(this.rate, requests);
  }

  private async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const { level, waitMs } = takeToken(this.level, this.rate, this.timing.monotonic());
      this.level = level;
      if (waitMs === 0) return;
      await this.timing.sleep(waitMs, signal);
    }
  }
}

/** The bucket rate of a provider's `pacing:`, with the default phase margin. */
export function bucketRate(options: TokenBucketOptions): BucketRate {
  return {
    burst: options.burst,
    ratePerMs: options.requestsPerMinute / 60_000,
    phaseMarginMs: options.phaseMarginMs ?? DEFAULT_PHASE_MARGIN_MS,
  };
}

/** Milliseconds `rate` needs to start `requests` requests from a full bucket. */
export function estimatePacingMs(rate: BucketRate, requests: number): number {
  return Math.max(0, requests - rate.burst) / rate.ratePerMs;
}
