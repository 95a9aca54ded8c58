import fc from 'fast-check';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BURST_ONE_MARGIN_SHARE, type BucketRate } from '../../src/core/bucket-level.js';
import {
  sharedBucketRate,
  STORE_PHASE_MARGIN_MS,
  StoreTokenBucket,
} from '../../src/pipeline/policies/store-token-bucket.js';
import { bucketRate, TokenBucket } from '../../src/pipeline/policies/token-bucket.js';
import type { BudgetTake, ProviderBudgets } from '../../src/store/provider-budgets.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { expectWithinBudget } from '../helpers/budget-bound.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl } from '../helpers/postgres-test-server.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, type StorageKind } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const opened: Store[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

/**
 * Epoch ms the fake monotonic clock starts from, as the store's clock; each set of processes
 * starts a day past the last (a PostgreSQL schema outlives them).
 */
let epoch = 1_800_000_000_000;

/** The stores' clock: the current set of processes' fake clock, from its own epoch. */
let storeClock = (): number => epoch;

/**
 * Three processes' stores on one PostgreSQL schema, opened once for the file (opening is the
 * slow part): each set of processes is a new provider in it.
 */
const postgresStores: Store[] = [];
let providers = 0;
afterAll(async () => {
  for (const store of postgresStores.splice(0)) await store.close();
});

/** The `index`th process's store of `kind`: a new one on `path` for SQLite. */
async function storeOf(kind: StorageKind, path: string, index: number): Promise<Store> {
  if (kind === 'sqlite') {
    const store = new SqliteStore({ path, clock: () => storeClock() });
    opened.push(store);
    await store.open();
    return store;
  }
  if (postgresStores[0] === undefined) {
    const schema = uniqueTestName();
    for (let i = 0; i < 3; i++) {
      const store = new PostgresStore({
        uri: testPostgresUrl(),
        schema,
        databaseClock: () => storeClock(),
      });
      postgresStores.push(store);
      await store.open();
    }
  }
  return postgresStores[index] as Store;
}

/**
 * `count` processes' views of one store (a new SQLite file, or a new provider on the PostgreSQL
 * schema), timed by the fake clock; each one's budgets count the takes they send to the store.
 * The fake clock stands still while a take or pause is in flight.
 */
async function processes(
  kind: StorageKind,
  timing: FakeTiming,
  count: number,
): Promise<{ budgets: ProviderBudgets; takes: () => number; provider: string }[]> {
  const path = join(tempDir(), 'budgets.db');
  const provider = kind === 'sqlite' ? 'synth' : `synth_${providers++}`;
  const start = (epoch += 86_400_000);
  storeClock = () => start + timing.monotonic();
  let inFlight = 0;
  timing.waitWhile(() => inFlight > 0);
  const counted = async <T>(call: () => Promise<T>): Promise<T> => {
    inFlight += 1;
    try {
      return await call();
    } finally {
      inFlight -= 1;
    }
  };
  const views = [];
  for (let i = 0; i < count; i++) {
    const store = await storeOf(kind, path, i);
    let takes = 0;
    const budgets: ProviderBudgets = {
      take: (name, rate, signal): Promise<BudgetTake> => {
        takes += 1;
        return counted(() => store.budgets.take(name, rate, signal));
      },
      pause: (name, ms) => counted(() => store.budgets.pause(name, ms)),
    };
    views.push({ budgets, takes: () => takes, provider });
  }
  return views;
}

function sharedBucket(
  timing: FakeTiming,
  view: { budgets: ProviderBudgets; provider: string },
  options: { burst: number; requestsPerMinute: number } | undefined,
): StoreTokenBucket {
  const rate: BucketRate | undefined =
    options && sharedBucketRate(options.burst, options.requestsPerMinute);
  return new StoreTokenBucket({
    provider: view.provider,
    budgets: view.budgets,
    rate,
    fallback: new TokenBucket(options ?? { burst: 1, requestsPerMinute: 60 }, timing),
    timing,
  });
}

/** Requests arriving at the given times at the given processes; their start times, ascending. */
async function startTimes(
  timing: FakeTiming,
  buckets: readonly StoreTokenBucket[],
  arrivals: readonly (readonly [number, number])[],
): Promise<number[]> {
  const starts: number[] = [];
  const all = Promise.all(
    arrivals.map(async ([at, who]) => {
      await timing.sleep(at);
      await (buckets[who % buckets.length] as StoreTokenBucket).acquire();
      starts.push(timing.monotonic());
    }),
  );
  await timing.run(all);
  return starts.sort((a, b) => a - b);
}

const budget = fc.record({
  burst: fc.integer({ min: 1, max: 10 }),
  requestsPerMinute: fc.integer({ min: 1, max: 600 }),
});

describe.each(STORAGE_KINDS)(
  'StoreTokenBucket: one budget for every process on a store (%s, fake clock)',
  (kind) => {
    it('never starts more than burst + W * rate in any window, across three processes (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          budget,
          fc.array(fc.tuple(fc.integer({ min: 0, max: 300_000 }), fc.nat()), {
            minLength: 1,
            maxLength: 60,
          }),
          async (options, arrivals) => {
            const timing = new FakeTiming();
            const buckets = (await processes(kind, timing, 3)).map((p) =>
              sharedBucket(timing, p, options),
            );
            const starts = await startTimes(timing, buckets, arrivals);
            expect(starts).toHaveLength(arrivals.length);
            const perMs = options.requestsPerMinute / 60_000;
            expectWithinBudget(starts, options.burst, perMs);
            for (const store of opened.splice(0)) await store.close();
          },
        ),
        { numRuns: kind === 'postgres' ? 20 : 60 },
      );
    });

    it('uses at least 95% of the budget when three processes want more than it', async () => {
      await fc.assert(
        fc.asyncProperty(budget, fc.integer({ min: 40, max: 120 }), async (options, refills) => {
          const perMs = options.requestsPerMinute / 60_000;
          const horizonMs = refills / perMs;
          const allowed = options.burst + refills;
          const timing = new FakeTiming();
          const buckets = (await processes(kind, timing, 3)).map((p) =>
            sharedBucket(timing, p, options),
          );
          const arrivals = Array.from({ length: allowed + 20 }, (_, i) => [0, i] as const);
          const starts = await startTimes(timing, buckets, arrivals);
          const within = starts.filter((t) => t <= horizonMs).length;
          expect(within).toBeLessThanOrEqual(allowed);
          // The margin leaves its share of the budget unused once, at the start; a bucket of one
          // also leaves its share of every interval (burstOneMarginMs) at each take.
          const perTake =
            options.burst === 1
              ? Math.min(STORE_PHASE_MARGIN_MS * perMs, BURST_ONE_MARGIN_SHARE)
              : 0;
          const unused = STORE_PHASE_MARGIN_MS * perMs + perTake * allowed;
          expect(within).toBeGreaterThanOrEqual(0.95 * (allowed - unused));
          for (const store of opened.splice(0)) await store.close();
        }),
        { numRuns: kind === 'postgres' ? 10 : 30 },
      );
    });

    it('local waiters queue in arrival order and ask the store one at a time', async () => {
      const timing = new FakeTiming();
      const [view] = await processes(kind, timing, 1);
      if (!view) throw new Error('no process');
      const bucket = sharedBucket(timing, view, { burst: 1, requestsPerMinute: 60 });
      const order: number[] = [];
      await timing.run(
        Promise.all(
          Array.from({ length: 10 }, (_, i) => bucket.acquire().then(() => order.push(i))),
        ),
      );
      expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(timing.monotonic()).toBeGreaterThanOrEqual(9_000);
      // Each waiter asks once, is told how long, and asks again then: ten waiters asking at every
      // wake-up would have sent ~55 takes.
      expect(view.takes()).toBeLessThanOrEqual(2 * 10);
    });

    it('a waiting acquire rejects at once when its signal aborts; the queue moves on', async () => {
      const timing = new FakeTiming();
      const [view] = await processes(kind, timing, 1);
      if (!view) throw new Error('no process');
      const bucket = sharedBucket(timing, view, { burst: 1, requestsPerMinute: 1 });
      await timing.run(bucket.acquire());
      const controller = new AbortController();
      const waiting = bucket.acquire(controller.signal);
      const reason = new Error('cancelled');
      setImmediate(() => controller.abort(reason));
      await expect(waiting).rejects.toBe(reason);
      expect(timing.monotonic()).toBe(0);
    });

    it('a 429 in one process pauses the others, for a provider with or without a rate', async () => {
      for (const options of [{ burst: 5, requestsPerMinute: 600 }, undefined]) {
        const timing = new FakeTiming();
        const [a, b] = await processes(kind, timing, 2);
        if (!a || !b) throw new Error('no process');
        const inA = sharedBucket(timing, a, options);
        const inB = sharedBucket(timing, b, options);
        await timing.run(inB.acquire());
        await inA.pause(5_000);
        await timing.run(inB.acquire());
        // Restarted empty: one interval after the pause for a rate, the pause's end without one.
        expect(timing.monotonic()).toBe(options ? 5_100 : 5_000);
        for (const store of opened.splice(0)) await store.close();
      }
    });
  },
);

describe('StoreTokenBucket when the store cannot answer (SQLite, fake clock)', () => {
  it('paces the process alone while the store cannot answer, and says so once', async () => {
    const timing = new FakeTiming();
    const path = join(tempDir(), 'budgets.db');
    const store = new SqliteStore({ path, clock: () => epoch + timing.monotonic() });
    await store.open();
    // A closed store fails every take with a StoreError, as a database outage does.
    await store.close();
    const told: string[] = [];
    const options = { burst: 2, requestsPerMinute: 60 };
    const bucket = new StoreTokenBucket({
      provider: 'synth',
      budgets: store.budgets,
      rate: bucketRate(options),
      fallback: new TokenBucket(options, timing),
      timing,
      onStoreUnavailable: (error) => told.push(error.code),
    });
    const starts: number[] = [];
    await timing.run(
      Promise.all(
        Array.from({ length: 4 }, () =>
          bucket.acquire().then(() => starts.push(timing.monotonic())),
        ),
      ),
    );
    await bucket.pause(1_000);
    expect(starts).toEqual([0, 0, 1_025, 2_025]);
    expect(told).toEqual(['MDP_STORE_CLOSED']);
  });
});

describe('StoreTokenBucket held to a stricter rate by another process (SQLite, fake clock)', () => {
  it('says so once per held rate, again after a reload, and not when held to its own', async () => {
    const timing = new FakeTiming();
    const path = join(tempDir(), 'budgets.db');
    const clock = (): number => epoch + timing.monotonic();
    const [strictStore, generousStore] = [
      new SqliteStore({ path, clock }),
      new SqliteStore({ path, clock }),
    ];
    opened.push(strictStore, generousStore);
    await strictStore.open();
    await generousStore.open();
    const strict = sharedBucketRate(1, 60);
    const generous = sharedBucketRate(2, 600);
    const told: string[] = [];
    const bucketOn = (store: Store, rate: BucketRate): StoreTokenBucket =>
      new StoreTokenBucket({
        provider: 'synth',
        budgets: store.budgets,
        rate,
        fallback: new TokenBucket({ burst: rate.burst, requestsPerMinute: 60 }, timing),
        timing,
        onHeldToStricter: (own, held) =>
          told.push(`${own.ratePerMs}/${own.burst} held to ${held.ratePerMs}/${held.burst}`),
      });
    const strictBucket = bucketOn(strictStore, strict);
    const generousBucket = bucketOn(generousStore, generous);
    await timing.run(strictBucket.acquire());
    for (let i = 0; i < 3; i++) await timing.run(generousBucket.acquire());
    // Held to one token a second: the strict process's pace, not its own ten.
    expect(timing.monotonic()).toBeGreaterThanOrEqual(3_000);
    expect(told).toEqual(['0.01/2 held to 0.001/1']);
    generousBucket.reconfigure(sharedBucketRate(3, 600));
    await timing.run(generousBucket.acquire());
    expect(told).toEqual(['0.01/2 held to 0.001/1', '0.01/3 held to 0.001/1']);
    // Reloaded to the strict config: held to its own, nothing to say.
    generousBucket.reconfigure(strict);
    await timing.run(generousBucket.acquire());
    expect(told).toHaveLength(2);
  });
});
