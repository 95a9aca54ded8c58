import { describe, expect, it } from 'vitest';
import { runPool } from '../../src/pipeline/runner/run-pool.js';
import { FakeTiming, settle } from '../helpers/fake-timing.js';

/** A worker that sleeps `durations[item]` on the fake clock, tracking what is in flight. */
function trackingWorker(
  timing: FakeTiming,
  durations: readonly number[],
  fail: (item: number) => Error | undefined = () => undefined,
): {
  worker: (item: number) => Promise<void>;
  started: number[];
  finished: number[];
  maxInFlight: () => number;
} {
  const started: number[] = [];
  const finished: number[] = [];
  let inFlight = 0;
  let max = 0;
  return {
    started,
    finished,
    maxInFlight: () => max,
    worker: async (item) => {
      started.push(item);
      max = Math.max(max, ++inFlight);
      try {
        await timing.sleep(durations[item] ?? 0);
        const error = fail(item);
        if (error) throw error;
        finished.push(item);
      } finally {
        inFlight -= 1;
      }
    },
  };
}

const durations = [30, 10, 50, 20, 20, 40, 10, 30, 60, 10];
const items = durations.map((_, i) => i);

describe('runPool', () => {
  it('processes every item with at most `concurrency` in flight', async () => {
    const timing = new FakeTiming();
    const track = trackingWorker(timing, durations);
    await timing.run(runPool(items, 3, track.worker, new AbortController().signal));
    expect(track.finished.toSorted((a, b) => a - b)).toEqual(items);
    expect(track.started).toEqual(items); // taken in order
    expect(track.maxInFlight()).toBe(3);
    // Each free lane takes the next item: the lane that takes item 8 (60 ms) at t=60 ends last.
    expect(timing.monotonic()).toBe(120);
  });

  it('runs one at a time with concurrency 1 (and treats 0 as 1)', async () => {
    for (const concurrency of [1, 0]) {
      const timing = new FakeTiming();
      const track = trackingWorker(timing, durations);
      await timing.run(runPool(items, concurrency, track.worker, new AbortController().signal));
      expect(track.finished).toEqual(items);
      expect(track.maxInFlight()).toBe(1);
      expect(timing.monotonic()).toBe(280);
    }
  });

  it('takes items lazily from an iterable', async () => {
    const timing = new FakeTiming();
    const pulled: number[] = [];
    function* source(): Generator<number> {
      for (const item of items) {
        pulled.push(item);
        yield item;
      }
    }
    const track = trackingWorker(timing, durations);
    const pool = runPool(source(), 2, track.worker, new AbortController().signal);
    await settle();
    expect(pulled).toEqual([0, 1]);
    await timing.run(pool);
    expect(pulled).toEqual(items);
  });

  it('handles more lanes than items, and no items at all', async () => {
    const timing = new FakeTiming();
    const track = trackingWorker(timing, [5, 5]);
    await timing.run(runPool([0, 1], 8, track.worker, new AbortController().signal));
    expect(track.finished.toSorted()).toEqual([0, 1]);
    await expect(runPool([], 4, track.worker, new AbortController().signal)).resolves.toBe(
      undefined,
    );
  });

  it('stops taking items after a failure and rethrows the first one once in-flight work settles', async () => {
    const timing = new FakeTiming();
    const first = new Error('chunk 3 failed');
    const second = new Error('chunk 4 failed');
    const track = trackingWorker(timing, durations, (item) =>
      item === 3 ? first : item === 4 ? second : undefined,
    );
    const outcome = timing
      .run(runPool(items, 3, track.worker, new AbortController().signal))
      .catch((e: unknown) => e);
    expect(await outcome).toBe(first);
    // 0, 1, 2 start; 1 ends at 10 → 3 starts; 0 ends at 30 → 4 starts; 3 fails at 30.
    // 4 (already in flight) fails later; 2 finishes; nothing new starts after the failure.
    expect(track.started).toEqual([0, 1, 2, 3, 4]);
    expect(track.finished.toSorted()).toEqual([0, 1, 2]);
    expect(timing.monotonic()).toBe(50);
  });

  it('treats a throwing item source like a failed worker: in-flight work settles first', async () => {
    const timing = new FakeTiming();
    const broken = new Error('checkpoint lookup failed');
    function* source(): Generator<number> {
      yield 0;
      yield 1;
      throw broken;
    }
    const track = trackingWorker(timing, [30, 10]);
    let settledAt: number | undefined;
    const outcome = timing
      .run(
        runPool(source(), 2, track.worker, new AbortController().signal).finally(() => {
          settledAt = timing.monotonic();
        }),
      )
      .catch((e: unknown) => e);
    expect(await outcome).toBe(broken);
    expect(track.finished.toSorted()).toEqual([0, 1]);
    expect(settledAt).toBe(30);
  });

  it('wraps a non-Error failure into an Error', async () => {
    const failure = await runPool(
      [1],
      1,
      () => Promise.reject('boom' as unknown as Error),
      new AbortController().signal,
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe('boom');
  });

  it('stops taking items on abort and rethrows the signal’s reason', async () => {
    const timing = new FakeTiming();
    const controller = new AbortController();
    const track = trackingWorker(timing, durations);
    const outcome = runPool(items, 2, track.worker, controller.signal).catch((e: unknown) => e);
    await timing.advance(15);
    const reason = new Error('SIGINT');
    controller.abort(reason);
    await timing.advance(1_000);
    expect(await outcome).toBe(reason);
    // 0 and 1 start; 1 ends at 10 → 2 starts; abort at 15; 0 and 2 finish, nothing else starts.
    expect(track.started).toEqual([0, 1, 2]);
    expect(track.finished.toSorted()).toEqual([0, 1, 2]);
  });

  it('does not start anything when the signal is already aborted', async () => {
    const reason = new Error('already stopped');
    const started: number[] = [];
    const failure = await runPool(
      items,
      4,
      async (item) => void started.push(item),
      AbortSignal.abort(reason),
    ).catch((e: unknown) => e);
    expect(failure).toBe(reason);
    expect(started).toEqual([]);
  });
});
