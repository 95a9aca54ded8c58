import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { abortableSleep } from '../../src/core/abortable-sleep.js';

/** Node's longest timer; vitest's fake timers, like Node, fire a longer one after 1 ms. */
const NODE_TIMER_LIMIT_MS = 2 ** 31 - 1;
/** `Retry-After: 9999999`, as a server once sent. */
const DAYS_MS = 9_999_999_000;

describe('abortableSleep', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('waits out a delay past Node’s timer limit in full instead of firing after 1 ms', async () => {
    let done = false;
    void abortableSleep(DAYS_MS).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(DAYS_MS - 1_001);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });

  it('never sets a timer beyond 2^31-1 ms', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const sleep = abortableSleep(DAYS_MS);
    await vi.advanceTimersByTimeAsync(DAYS_MS);
    await sleep;
    const delays = setTimeoutSpy.mock.calls.map((call) => call[1] ?? 0);
    expect(delays.length).toBe(Math.ceil(DAYS_MS / NODE_TIMER_LIMIT_MS));
    expect(Math.max(...delays)).toBeLessThanOrEqual(NODE_TIMER_LIMIT_MS);
  });

  it('an abort in the middle of a chained wait rejects at once and leaves no timer', async () => {
    const controller = new AbortController();
    const sleep = abortableSleep(DAYS_MS, controller.signal);
    await vi.advanceTimersByTimeAsync(NODE_TIMER_LIMIT_MS + 5);
    controller.abort(new Error('stopped'));
    await expect(sleep).rejects.toThrow('stopped');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses a NaN delay instead of firing at once', async () => {
    await expect(abortableSleep(Number.NaN)).rejects.toBeInstanceOf(RangeError);
  });

  it('resolves at once for a delay of zero or less', async () => {
    await expect(abortableSleep(0)).resolves.toBeUndefined();
    await expect(abortableSleep(-5)).resolves.toBeUndefined();
  });
});
