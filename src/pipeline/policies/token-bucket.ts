import type { Timing } from '../timing.js';

/** Settings of one provider's bucket, from its `pacing:` config. */
export interface TokenBucketOptions {
  /** Bucket capacity: requests that may start at once after a quiet period. */
  readonly burst: number;
  readonly requestsPerMinute: number;
}

/**
 * A token bucket on the monotonic clock: over any window of W seconds at most
 * `burst + W * rate` requests start. Waiters are served in arrival order.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private tail: Promise<void> = Promise.resolve();
  private readonly ratePerMs: number;

  constructor(
    private readonly options: TokenBucketOptions,
    private readonly timing: Timing,
  ) {
    this.tokens = options.burst;
    this.updatedAt = timing.monotonic();
    this.ratePerMs = options.requestsPerMinute / 60_000;
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
      this.tokens = Math.min(
        this.options.burst,
        this.tokens + (now - this.updatedAt) * this.ratePerMs,
      );
      this.updatedAt = now;
    }
  }

  private async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const now = this.timing.monotonic();
      const pausedFor = Math.max(0, this.updatedAt - now);
      await this.timing.sleep(Math.max(1, pausedFor + (1 - this.tokens) / this.ratePerMs), signal);
    }
  }
}
