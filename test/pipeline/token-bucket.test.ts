import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/pipeline/policies/token-bucket.js';
import { FakeTiming, settle } from '../helpers/fake-timing.js';

/** Starts `count` acquires at once; resolves to each one's start time, in completion order. */
function acquireAll(
  bucket: TokenBucket,
  timing: FakeTiming,
  count: number,
): { starts: { id: number; at: number }[]; done: Promise<void> } {
  const starts: { id: number; at: number }[] = [];
  const done = Promise.all(
    Array.from({ length: count }, (_, id) =>
      bucket.acquire().then(() => {
        starts.push({ id, at: timing.monotonic() });
      }),
    ),
  ).then(() => undefined);
  return { starts, done };
}

describe('TokenBucket', () => {
  it('starts full: the burst goes at once, then one start per 60/rpm seconds', async () => {
    const timing = new FakeTiming();
    const bucket = new TokenBucket({ burst: 3, requestsPerMinute: 30, phaseMarginMs: 0 }, timing);
    const { starts, done } = acquireAll(bucket, timing, 6);
    await timing.run(done);
    expect(starts.map((s) => s.at)).toEqual([0, 0, 0, 2_000, 4_000, 6_000]);
  });

  it('serves waiters in arrival order', async () => {
    const timing = new FakeTiming();
    const bucket = new TokenBucket({ burst: 1, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
    const { starts, done } = acquireAll(bucket, timing, 8);
    await timing.run(done);
    expect(starts.map((s) => s.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(starts.map((s) => s.at)).toEqual([0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000]);
  });

  it('refills up to the burst after a quiet period, never beyond it', async () => {
    const timing = new FakeTiming();
    const bucket = new TokenBucket({ burst: 2, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
    await timing.run(acquireAll(bucket, timing, 2).done);
    await timing.advance(60_000);
    const { starts, done } = acquireAll(bucket, timing, 4);
    await timing.run(done);
    expect(starts.map((s) => s.at)).toEqual([60_000, 60_000, 61_000, 62_000]);
  });

  it('pause(ms) blocks every start for ms and restarts empty: no burst after the cooldown', async () => {
    const timing = new FakeTiming();
    const bucket = new TokenBucket({ burst: 5, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
    await timing.run(acquireAll(bucket, timing, 1).done);
    bucket.pause(10_000);
    const { starts, done } = acquireAll(bucket, timing, 3);
    await timing.advance(9_999);
    expect(starts).toEqual([]);
    await timing.run(done);
    // Four unused tokens were in the bucket; the pause threw them away.
    expect(starts.map((s) => s.at)).toEqual([11_000, 12_000, 13_000]);
  });

  it('a shorter pause does not cut an ongoing longer one short', async () => {
    const timing = new FakeTiming();
    const bucket = new TokenBucket({ burst: 1, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
    bucket.pause(10_000);
    await timing.advance(2_000);
    bucket.pause(1_000);
    const { starts, done } = acquireAll(bucket, timing, 1);
    await timing.run(done);
    expect(starts.map((s) => s.at)).toEqual([11_000]);
  });

  it('a pause while a waiter sleeps holds that waiter too', async () => {
    const timing = new FakeTiming();
    const bucket = new TokenBucket({ burst: 1, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
    const { starts, done } = acquireAll(bucket, timing, 2);
    await timing.advance(500);
    expect(starts.map((s) => s.at)).toEqual([0]);
    bucket.pause(5_000);
    await timing.run(done);
    expect(starts.map((s) => s.at)).toEqual([0, 6_500]);
  });

  it('rejects with the abort reason when the signal aborts while waiting for a token', async () => {
    const timing = new FakeTiming();
    const bucket = new TokenBucket({ burst: 1, requestsPerMinute: 6, phaseMarginMs: 0 }, timing);
    await bucket.acquire();
    const controller = new AbortController();
    const waiting = bucket.acquire(controller.signal);
    const outcome = waiting.then(
      () => 'started',
      (e: unknown) => e,
    );
    await timing.advance(1_000);
    const reason = new Error('job cancelled');
    controller.abort(reason);
    await settle();
    expect(await outcome).toBe(reason);
    // The aborted waiter took no token: the next one starts when the first refill lands.
    const { starts, done } = acquireAll(bucket, timing, 1);
    await timing.run(done);
    expect(starts.map((s) => s.at)).toEqual([10_000]);
  });

  it('rejects a queued waiter as soon as its own signal aborts, not when its turn comes', async () => {
    const timing = new FakeTiming();
    const bucket = new TokenBucket({ burst: 1, requestsPerMinute: 1, phaseMarginMs: 0 }, timing);
    await bucket.acquire();
    const ahead = bucket.acquire(); // another job's request, waiting a minute for its token
    const controller = new AbortController();
    const behind = bucket.acquire(controller.signal).then(
      () => 'started',
      (e: unknown) => e,
    );
    await timing.advance(1_000);
    const reason = new Error('this job was cancelled');
    controller.abort(reason);
    await settle();
    let outcome: unknown = 'pending';
    void behind.then((v) => (outcome = v));
    await settle();
    expect(outcome).toBe(reason);
    await timing.run(ahead);
    expect(timing.monotonic()).toBe(60_000);
    // The cancelled waiter left the queue without taking the next token.
    const { starts, done } = acquireAll(bucket, timing, 1);
    await timing.run(done);
    expect(starts.map((s) => s.at)).toEqual([120_000]);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const timing = new FakeTiming();
    const bucket = new TokenBucket({ burst: 1, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
    const reason = new Error('already stopped');
    await expect(bucket.acquire(AbortSignal.abort(reason))).rejects.toBe(reason);
    // ...and does not spend the token.
    const { starts, done } = acquireAll(bucket, timing, 1);
    await timing.run(done);
    expect(starts.map((s) => s.at)).toEqual([0]);
  });

  it('estimateMs is the time to start n requests from a full bucket', () => {
    const bucket = new TokenBucket(
      { burst: 10, requestsPerMinute: 40, phaseMarginMs: 0 },
      new FakeTiming(),
    );
    expect(bucket.estimateMs(0)).toBe(0);
    expect(bucket.estimateMs(10)).toBe(0);
    expect(bucket.estimateMs(11)).toBe(1_500);
    expect(bucket.estimateMs(50)).toBe(60_000);
  });

  it('estimateMs matches the start time of the last of n queued requests', async () => {
    const timing = new FakeTiming();
    const bucket = new TokenBucket({ burst: 4, requestsPerMinute: 120, phaseMarginMs: 0 }, timing);
    const { starts, done } = acquireAll(bucket, timing, 13);
    await timing.run(done);
    expect(starts.at(-1)?.at).toBe(bucket.estimateMs(13));
    expect(bucket.estimateMs(13)).toBe(4_500);
  });

  it('reads only the monotonic clock: a jumping wall clock changes nothing', async () => {
    const schedule = async (timing: FakeTiming): Promise<number[]> => {
      const bucket = new TokenBucket({ burst: 2, requestsPerMinute: 30, phaseMarginMs: 0 }, timing);
      const { starts, done } = acquireAll(bucket, timing, 5);
      await timing.run(done);
      return starts.map((s) => s.at);
    };
    const steady = await schedule(new FakeTiming());
    const jumpy = new FakeTiming();
    let calls = 0;
    jumpy.setWallClock(() => (calls++ % 2 === 0 ? -1e12 : 4e12));
    expect(await schedule(jumpy)).toEqual(steady);
    expect(steady).toEqual([0, 0, 2_000, 4_000, 6_000]);
  });

  describe('phase margin', () => {
    it('a busy period starting from a full bucket refills late by the margin, then at the exact rate', async () => {
      const timing = new FakeTiming();
      const bucket = new TokenBucket(
        { burst: 2, requestsPerMinute: 60, phaseMarginMs: 25 },
        timing,
      );
      const { starts, done } = acquireAll(bucket, timing, 5);
      await timing.run(done);
      expect(starts.map((s) => s.at)).toEqual([0, 0, 1_025, 2_025, 3_025]);
    });

    it('a bucket of one token pays a margin at every take: a server bucket of one keeps no lead', async () => {
      const timing = new FakeTiming();
      const bucket = new TokenBucket(
        { burst: 1, requestsPerMinute: 60, phaseMarginMs: 25 },
        timing,
      );
      const { starts, done } = acquireAll(bucket, timing, 4);
      await timing.run(done);
      // 3% of the 1 s interval (30 ms) is more than the margin: the margin, 25 ms, at each take.
      expect(starts.map((s) => s.at)).toEqual([0, 1_025, 2_050, 3_075]);
    });

    it("a bucket of one token's margin per take is 3% of the interval when that is less", async () => {
      const timing = new FakeTiming();
      const bucket = new TokenBucket(
        { burst: 1, requestsPerMinute: 300, phaseMarginMs: 25 },
        timing,
      );
      const { starts, done } = acquireAll(bucket, timing, 4);
      await timing.run(done);
      // The first take after a quiet period pays the whole margin (25 ms), later ones 6 ms.
      expect(starts.map((s) => s.at)).toEqual([0, 225, 431, 637]);
    });

    it('after a quiet period the next burst pays the margin again, once', async () => {
      const timing = new FakeTiming();
      const bucket = new TokenBucket(
        { burst: 1, requestsPerMinute: 60, phaseMarginMs: 25 },
        timing,
      );
      await timing.run(bucket.acquire());
      await timing.advance(10_000);
      const { starts, done } = acquireAll(bucket, timing, 3);
      await timing.run(done);
      expect(starts.map((s) => s.at)).toEqual([10_000, 11_025, 12_050]);
    });
  });
});
