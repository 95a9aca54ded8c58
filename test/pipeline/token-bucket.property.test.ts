import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/pipeline/policies/token-bucket.js';
import { expectWithinBudget } from '../helpers/budget-bound.js';
import { FakeTiming } from '../helpers/fake-timing.js';

/** Requests arriving at the given monotonic times; resolves to their start times, ascending. */
async function startTimes(
  timing: FakeTiming,
  options: { burst: number; requestsPerMinute: number },
  arrivals: readonly number[],
): Promise<number[]> {
  const bucket = new TokenBucket(options, timing);
  const starts: number[] = [];
  const all = Promise.all(
    arrivals.map(async (at) => {
      await timing.sleep(at);
      await bucket.acquire();
      starts.push(timing.monotonic());
    }),
  );
  await timing.run(all);
  return starts.sort((a, b) => a - b);
}

/** A wall clock that jumps by years either way on every read. */
function wildWallClock(seed: number): (monotonic: number) => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    return (state - 2 ** 31) * 1e4;
  };
}

const budget = fc.record({
  burst: fc.integer({ min: 1, max: 20 }),
  requestsPerMinute: fc.integer({ min: 1, max: 600 }),
});

describe('TokenBucket pacing (property)', () => {
  it('never starts more than burst + W * rate in any window [t, t + W]', async () => {
    await fc.assert(
      fc.asyncProperty(
        budget,
        fc.array(fc.integer({ min: 0, max: 600_000 }), { minLength: 1, maxLength: 120 }),
        fc.integer(),
        async (options, arrivals, seed) => {
          const timing = new FakeTiming();
          timing.setWallClock(wildWallClock(seed));
          const starts = await startTimes(timing, options, arrivals);
          expect(starts).toHaveLength(arrivals.length);
          const perMs = options.requestsPerMinute / 60_000;
          expectWithinBudget(starts, options.burst, perMs);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('uses at least 95% of the budget when demand exceeds it', async () => {
    await fc.assert(
      fc.asyncProperty(
        budget,
        fc.integer({ min: 40, max: 200 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.double({ min: 0, max: 0.01, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.integer(),
        async (options, refills, extra, spread, seed) => {
          const perMs = options.requestsPerMinute / 60_000;
          // Horizon over which the budget allows exactly burst + refills starts.
          const horizonMs = refills / perMs;
          const allowed = options.burst + refills;
          // Demand beyond the budget, arriving early (within the first 1% of the horizon).
          const arrivals = Array.from(
            { length: allowed + extra },
            (_, i) => (spread[i % spread.length] as number) * horizonMs,
          );
          const timing = new FakeTiming();
          timing.setWallClock(wildWallClock(seed));
          const starts = await startTimes(timing, options, arrivals);
          const within = starts.filter((t) => t <= horizonMs).length;
          expect(within).toBeLessThanOrEqual(allowed);
          expect(within).toBeGreaterThanOrEqual(0.95 * allowed);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('gives the same start times whatever the wall clock does', async () => {
    await fc.assert(
      fc.asyncProperty(
        budget,
        fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 1, maxLength: 40 }),
        fc.integer(),
        async (options, arrivals, seed) => {
          const steady = await startTimes(new FakeTiming(), options, arrivals);
          const jumpy = new FakeTiming();
          jumpy.setWallClock(wildWallClock(seed));
          expect(await startTimes(jumpy, options, arrivals)).toEqual(steady);
        },
      ),
      { numRuns: 50 },
    );
  });
});
