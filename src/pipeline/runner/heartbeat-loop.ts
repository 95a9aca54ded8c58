import { MAX_TIMER_MS } from '../../core/long-timeout.js';
import type { Timing } from '../timing.js';

/** A running heartbeat loop. */
export interface HeartbeatLoop {
  /** Schedules no more heartbeats; resolves once the one in flight (if any) has settled. */
  stop(): Promise<void>;
}

/**
 * Calls `beat` every `intervalMs`, never two at once: the next one is scheduled only after the
 * previous settled, `intervalMs` after it began (at once when it took longer). A heartbeat that
 * waits on a lock on `job_runs` therefore holds one connection, not one per interval until the
 * pool is all heartbeats. `beat` must not reject. No timer is set beyond Node's limit: a longer
 * interval beats every 2^31-1 ms (about 24.8 days), which only beats sooner than promised.
 */
export function startHeartbeatLoop(
  beat: () => Promise<void>,
  intervalMs: number,
  timing: Pick<Timing, 'monotonic'>,
  /** Told of a heartbeat that took longer than the interval (a lock, an overloaded database). */
  onSlow: (tookMs: number) => void,
): HeartbeatLoop {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight = Promise.resolve();
  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(tick, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    // A heartbeat never keeps the process alive on its own.
    timer.unref();
  };
  const tick = (): void => {
    const began = timing.monotonic();
    inFlight = beat().finally(() => {
      const took = timing.monotonic() - began;
      if (took > intervalMs) onSlow(took);
      schedule(intervalMs - took);
    });
  };
  schedule(intervalMs);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      return inFlight;
    },
  };
}
