import { abortableSleep } from '../core/abortable-sleep.js';

/** Sleep and clocks, replaceable by fakes in tests. */
export interface Timing {
  /** Monotonic milliseconds (not wall time): immune to clock jumps. */
  monotonic(): number;
  /** Wall-clock epoch milliseconds, for bar times. */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemTiming: Timing = {
  monotonic: () => performance.now(),
  now: () => Date.now(),
  sleep: abortableSleep,
};
