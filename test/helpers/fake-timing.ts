import type { Timing } from '../../src/pipeline/timing.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/** Lets every pending promise reaction run: one macrotask turn drains the microtask queue. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A deterministic virtual clock for code that takes a `Timing`.
 *
 * `sleep(ms)` registers a timer at `monotonic() + ms` and resolves only when the test moves the
 * clock past it, either with `advance(ms)` (explicit steps) or with `run(promise)` (auto-advance:
 * whenever all pending work is waiting on timers, jump to the earliest one). Timers due at the same
 * instant fire in the order they were set, and the clock never moves on its own, so a test sees the
 * same sequence of times on every run. `sleep(ms <= 0)` resolves at once, like `abortableSleep`.
 *
 * `now()` (wall time) is independent of the monotonic clock and may be replaced with
 * `setWallClock` to prove a unit never reads it.
 */
export class FakeTiming implements Timing {
  /** Every duration passed to `sleep`, in call order. */
  readonly sleeps: number[] = [];
  private clock: number;
  private seq = 0;
  private timers: Timer[] = [];
  private wallClock: (monotonic: number) => number;
  private busy: () => boolean = () => false;

  constructor(options: { start?: number; wallStart?: number } = {}) {
    this.clock = options.start ?? 0;
    const wallStart = options.wallStart ?? Date.parse('2024-01-01T00:00:00Z');
    const origin = this.clock;
    this.wallClock = (monotonic) => wallStart + (monotonic - origin);
  }

  monotonic(): number {
    return this.clock;
  }

  now(): number {
    return this.wallClock(this.clock);
  }

  /**
   * Tells `run` that the code under test waits for real I/O (say, a database's answer) while
   * `busy()` is true: everything looks idle meanwhile, but the clock must not move.
   */
  waitWhile(busy: () => boolean): void {
    this.busy = busy;
  }

  /** Replaces the wall clock, e.g. with one that jumps around. */
  setWallClock(wallClock: (monotonic: number) => number): void {
    this.wallClock = wallClock;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (!(ms > 0)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = {
        at: this.clock + ms,
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves the clock forward by `ms`, firing due timers in order and settling after each. */
  async advance(ms: number): Promise<void> {
    const target = this.clock + ms;
    await settle();
    for (;;) {
      const next = this.earliest();
      if (!next || next.at > target) break;
      this.fire(next);
      await settle();
    }
    this.clock = target;
    await settle();
  }

  /**
   * Resolves or rejects like `promise`, advancing the clock timer by timer whenever everything is
   * waiting. Throws if the promise is still pending with no timer left (a deadlock in the test).
   */
  async run<T>(promise: Promise<T>, maxTimers = 1_000_000): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let fired = 0; ; fired++) {
      await settle();
      if (settled) return promise;
      if (this.busy()) {
        // Real I/O in flight (a database's answer): time stands still until it is back.
        await new Promise((resolve) => setTimeout(resolve, 1));
        fired -= 1;
        continue;
      }
      const next = this.earliest();
      if (!next) throw new Error('FakeTiming.run: promise pending with no timer left');
      if (fired >= maxTimers) throw new Error(`FakeTiming.run: more than ${maxTimers} timers`);
      this.fire(next);
    }
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    this.clock = Math.max(this.clock, timer.at);
    timer.resolve();
  }
}
