import type { Timing } from '../../src/pipeline/timing.js';

/**
 * A process stopped in its tracks (SIGSTOP, a paused VM) for a scheduler test: while frozen, its
 * timers that come due fire only once it is thawed, and whatever awaits `resumed()` (an answer
 * from the store it has not read yet, a run it was in the middle of) waits as well. The clock
 * goes on meanwhile, for it and for everyone else.
 */
export class FrozenProcess {
  private thawNow: () => void = () => undefined;
  private thawed: Promise<void> = Promise.resolve();
  private frozen = false;

  /** Stops the process here (idempotent while frozen). */
  freeze(): void {
    if (this.frozen) return;
    this.thawed = new Promise((resolve) => (this.thawNow = resolve));
    this.frozen = true;
  }

  /** Lets it go on (SIGCONT). */
  thaw(): void {
    this.frozen = false;
    this.thawNow();
  }

  /** Resolves at once when running, or at the thaw. */
  resumed(): Promise<void> {
    return this.thawed;
  }

  /** `timing` as the process sees it: same clocks, but its sleeps end only while it runs. */
  timing(timing: Timing): Timing {
    return {
      now: () => timing.now(),
      monotonic: () => timing.monotonic(),
      sleep: async (ms, signal) => {
        await timing.sleep(ms, signal);
        await this.resumed();
      },
    };
  }
}
