import type { Timing } from '../timing.js';

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

/**
 * A token bucket on the monotonic clock: over any window of W seconds at most
 * `burst + W * rate` requests start. Waiters are served in arrival order.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private tail: Promise<void> = Promise.resolve();
  private readonly ratePerMs: number;
  private readonly phaseMarginMs: number;
  /** When the bucket last became full; a take after a quiet period restarts the refill clock. */
  private fullSince = -Infinity;

  constructor(
    private readonly options: TokenBucketOptions,
    private readonly timing: Timing,
  ) {
    this.tokens = options.burst;
    this.updatedAt = timing.monotonic();
    this.ratePerMs = options.requestsPerMinute / 60_000;
    this.phaseMarginMs = options.phaseMarginMs ?? DEFAULT_PHASE_MARGIN_MS;
  }

  /** Resolves when a request may start; rejects with the signal's reason if aborted first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const turn = this.tail.then(() => this.take(signal));
    this.tail = turn.catch(() => undefined);
    if (!signal) return turn;
    // The bucket is shared across jobs: a cancelled waiter must not wait for others' turns to leave.
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      turn.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /**
   * Stops all starts for `ms` (the provider said we were too fast). The bucket restarts empty so
   * the end of a cooldown is not followed by a burst.
   */
  pause(ms: number): void {
    const until = this.timing.monotonic() + ms;
    this.refill();
    if (until > this.updatedAt) {
      this.tokens = 0;
      this.updatedAt = until;
    }
  }

  /** Milliseconds the budget needs to start `requests` requests from a full bucket. */
  estimateMs(requests: number): number {
    return Math.max(0, requests - this.options.burst) / this.ratePerMs;
  }

  private refill(): void {
    const now = this.timing.monotonic();
    // updatedAt may lie in the future during a pause: no refill until it has passed.
    if (now > this.updatedAt) {
      const level = this.tokens + (now - this.updatedAt) * this.ratePerMs;
      if (level >= this.options.burst && this.tokens < this.options.burst) {
        this.fullSince = this.updatedAt + (this.options.burst - this.tokens) / this.ratePerMs;
      }
      this.tokens = Math.min(this.options.burst, level);
      this.updatedAt = now;
    }
  }

  private async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      this.refill();
      if (this.tokens >= 1) {
        const now = this.timing.monotonic();
        // Only a bucket that sat full (a quiet period) starts a new busy period; one that just
        // refilled to its last token is mid-stream and keeps its phase.
        const quiet =
          this.tokens >= this.options.burst && now - this.fullSince >= this.phaseMarginMs;
        this.tokens -= 1;
        if (quiet) this.updatedAt = Math.max(this.updatedAt, now + this.phaseMarginMs);
        return;
      }
      const now = this.timing.monotonic();
      const pausedFor = Math.max(0, this.updatedAt - now);
      await this.timing.sleep(Math.max(1, pausedFor + (1 - this.tokens) / this.ratePerMs), signal);
    }
  }
}
