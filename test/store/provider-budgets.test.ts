import fc from 'fast-check';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BucketRate } from '../../src/core/bucket-level.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl } from '../helpers/postgres-test-server.js';
import { expectWithinBudget } from '../helpers/budget-bound.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, type StorageKind } from '../helpers/test-storage.js';

const tempDir = useTempDir();

/** 60 a minute: one token a second; no phase margin unless a test sets one. */
const RATE: BucketRate = { burst: 3, ratePerMs: 1 / 1000, phaseMarginMs: 0 };

const opened: Store[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

/**
 * `count` stores on one database (one SQLite file, or one PostgreSQL schema): as many processes
 * would open it. `clock` stands in for the store's clock (the database's, on PostgreSQL).
 */
async function openStores(
  kind: StorageKind,
  count: number,
  clock?: () => number,
): Promise<Store[]> {
  const place = kind === 'sqlite' ? join(tempDir(), 'budgets.db') : uniqueTestName();
  const stores: Store[] = [];
  for (let i = 0; i < count; i++) {
    const store =
      kind === 'sqlite'
        ? new SqliteStore({ path: place, ...(clock ? { clock } : {}) })
        : new PostgresStore({
            uri: testPostgresUrl(),
            schema: place,
            ...(clock ? { databaseClock: clock } : {}),
          });
    opened.push(store);
    await store.open();
    stores.push(store);
  }
  return stores;
}

/** A refused take asking to wait `ms`, give or take float rounding. */
function waiting(ms: number): unknown {
  return { granted: false, waitMs: expect.closeTo(ms, 6) };
}

/** A clock the test moves, from a time far from 0 (epoch ms). */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let at = 1_800_000_000_000;
  return { now: () => at, advance: (ms) => (at += ms) };
}

describe.each(STORAGE_KINDS)('ProviderBudgets on %s', (kind) => {
  it('the first take creates a full bucket; burst takes pass, the next waits one interval', async () => {
    const clock = manualClock();
    const [store] = (await openStores(kind, 1, clock.now)) as [Store];
    for (let i = 0; i < RATE.burst; i++) {
      expect(await store.budgets.take('synth', RATE)).toEqual({ granted: true });
    }
    expect(await store.budgets.take('synth', RATE)).toEqual(waiting(1000));
    clock.advance(999);
    expect(await store.budgets.take('synth', RATE)).toEqual(waiting(1));
    clock.advance(1);
    expect(await store.budgets.take('synth', RATE)).toEqual({ granted: true });
  });

  it('processes on one store share one budget per provider; providers are apart', async () => {
    const clock = manualClock();
    const [a, b, c] = (await openStores(kind, 3, clock.now)) as [Store, Store, Store];
    const granted: string[] = [];
    for (const [name, store] of [
      ['a', a],
      ['b', b],
      ['c', c],
      ['a', a],
      ['b', b],
    ] as const) {
      if ((await store.budgets.take('synth', RATE)).granted) granted.push(name);
    }
    expect(granted).toEqual(['a', 'b', 'c']);
    expect(await c.budgets.take('other', RATE)).toEqual({ granted: true });
  });

  it('a pause holds every process until it ends, then the bucket restarts empty', async () => {
    const clock = manualClock();
    const [a, b] = (await openStores(kind, 2, clock.now)) as [Store, Store];
    expect(await a.budgets.take('synth', RATE)).toEqual({ granted: true });
    await a.budgets.pause('synth', 5000);
    expect(await b.budgets.take('synth', RATE)).toEqual(waiting(6000));
    // A shorter pause asked meanwhile (another process's 429) does not shorten it.
    await b.budgets.pause('synth', 1000);
    clock.advance(5000);
    expect(await b.budgets.take('synth', RATE)).toEqual(waiting(1000));
    clock.advance(1000);
    expect(await b.budgets.take('synth', RATE)).toEqual({ granted: true });
    expect(await a.budgets.take('synth', RATE)).toEqual(waiting(1000));
  });

  it('a provider without a rate is held back only by a pause, shared by every process', async () => {
    const clock = manualClock();
    const [a, b] = (await openStores(kind, 2, clock.now)) as [Store, Store];
    for (let i = 0; i < 10; i++) {
      expect(await a.budgets.take('unpaced', undefined)).toEqual({ granted: true });
    }
    await b.budgets.pause('unpaced', 2000);
    expect(await a.budgets.take('unpaced', undefined)).toEqual(waiting(2000));
    clock.advance(2000);
    expect(await a.budgets.take('unpaced', undefined)).toEqual({ granted: true });
  });

  it('never grants more than burst + W * rate in any window, whoever takes (property)', async () => {
    const clock = manualClock();
    const stores = await openStores(kind, 2, clock.now);
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          burst: fc.integer({ min: 1, max: 5 }),
          perMinute: fc.integer({ min: 1, max: 600 }),
          // A phase margin only ever holds takes back, whichever way it is paid.
          phaseMarginMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1000 })),
          margin: fc.constantFrom('quiet' as const, 'near-full' as const),
        }),
        // Each step: which process takes, after how many ms.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 3000 })), {
          minLength: 1,
          maxLength: kind === 'postgres' ? 25 : 60,
        }),
        async ({ burst, perMinute, phaseMarginMs, margin }, steps) => {
          const rate: BucketRate = { burst, ratePerMs: perMinute / 60_000, phaseMarginMs, margin };
          const provider = `p${round++}`;
          const grants: number[] = [];
          for (const [who, after] of steps) {
            clock.advance(after);
            const take = await (stores[who] as Store).budgets.take(provider, rate);
            if (take.granted) grants.push(clock.now());
          }
          expectWithinBudget(grants, burst, rate.ratePerMs);
        },
      ),
      { numRuns: kind === 'postgres' ? 20 : 60 },
    );
  });
});

describe('ProviderBudgets on postgres, by the database clock', () => {
  it('concurrent takers in three processes, one row created race-free: burst + elapsed * rate at most', async () => {
    const stores = await openStores('postgres', 3);
    const rate: BucketRate = { burst: 5, ratePerMs: 20 / 1000, phaseMarginMs: 0 };
    const started = performance.now();
    const deadline = started + 1500;
    let granted = 0;
    let denied = 0;
    // Eight loops per process, each asking as fast as the database answers: every first take
    // races to create the row.
    await Promise.all(
      stores.flatMap((store) =>
        Array.from({ length: 8 }, async () => {
          while (performance.now() < deadline) {
            const take = await store.budgets.take('race', rate);
            if (take.granted) granted += 1;
            else denied += 1;
          }
        }),
      ),
    );
    const elapsed = performance.now() - started;
    expect(denied).toBeGreaterThan(0);
    expect(granted).toBeLessThanOrEqual(rate.burst + elapsed * rate.ratePerMs + 1);
    // Takers that never stop asking leave no token unused for long.
    expect(granted).toBeGreaterThanOrEqual(rate.burst + 1000 * rate.ratePerMs);
  });
});
