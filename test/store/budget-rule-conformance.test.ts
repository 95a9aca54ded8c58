import fc from 'fast-check';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELD_RATE_MS, type BucketRate } from '../../src/core/bucket-level.js';
import { sharedBucketRate } from '../../src/pipeline/policies/store-token-bucket.js';
import type { BudgetTake } from '../../src/store/provider-budgets.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl } from '../helpers/postgres-test-server.js';
import { useTempDir } from '../helpers/temp-dir.js';

/*
 * The PostgreSQL store runs the bucket rule in SQL (one statement a take, see
 * postgres-provider-budgets.ts); the SQLite store runs src/core/bucket-level.ts, the rule every
 * other pacing test drives. Both stores must answer every sequence of takes, pauses and clock
 * moves alike, to the float, so neither can drift from the other.
 */

const tempDir = useTempDir();

/** One thing a process does to the shared budget of one provider, at the clock's current time. */
type Step =
  | { readonly kind: 'clock'; readonly ms: number }
  | { readonly kind: 'take'; readonly who: number; readonly rate: number }
  | { readonly kind: 'take-unpaced'; readonly who: number }
  | { readonly kind: 'pause'; readonly who: number; readonly ms: number };

/** Either any value in [min, max], or one of `edges`: round values land on the rule's boundaries. */
function withEdges(min: number, max: number, edges: readonly number[]): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(...edges), fc.integer({ min, max }));
}

/**
 * Requests a minute: whole-ms intervals (1 s, 100 ms, 10 ms) hit the boundaries exactly; 0.25 a
 * minute holds a stricter rate for three of its intervals, longer than HELD_RATE_MS.
 */
const perMinuteArb = withEdges(1, 900, [0.25, 6, 60, 600, 6000]);

const rateArb: fc.Arbitrary<BucketRate> = fc.oneof(
  // What a shared bucket is given (pipeline/policies/store-token-bucket.ts)...
  fc
    .record({ burst: fc.integer({ min: 1, max: 6 }), perMinute: perMinuteArb })
    .map(({ burst, perMinute }) => sharedBucketRate(burst, perMinute)),
  // ...and any rate the rule takes, either margin policy.
  fc.record({
    burst: fc.integer({ min: 1, max: 6 }),
    ratePerMs: perMinuteArb.map((perMinute) => perMinute / 60_000),
    phaseMarginMs: withEdges(1, 2000, [0, 10, 100, 500, 1000]),
    margin: fc.constantFrom('quiet' as const, 'near-full' as const, undefined),
  }),
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('clock' as const),
      ms: withEdges(0, 4000, [1, 10, 100, 500, 1000]),
    }),
  },
  // Long enough for a held rate to lapse, or just not (the processes take at different rates).
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('clock' as const),
      ms: withEdges(HELD_RATE_MS - 2000, HELD_RATE_MS + 2000, [
        HELD_RATE_MS - 1,
        HELD_RATE_MS,
        720_000,
      ]),
    }),
  },
  // A wall clock stepped back (NTP, a VM resumed): the database's clock too.
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('clock' as const),
      ms: withEdges(-600_000, -1, [-1, -10, -100, -1000]),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('take' as const),
      who: fc.nat(1),
      rate: fc.nat(2),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('take-unpaced' as const), who: fc.nat(1) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('pause' as const),
      who: fc.nat(1),
      ms: withEdges(1, 20_000, [1, 10, 100, 1000]),
    }),
  },
);

/** Rates 60/min, burst 1, quiet margin 500 ms; and 7/min, burst 3, near-full margin 2 s. */
const QUIET: BucketRate = { burst: 1, ratePerMs: 1 / 1000, phaseMarginMs: 500, margin: 'quiet' };
const NEAR_FULL: BucketRate = {
  burst: 3,
  ratePerMs: 7 / 60_000,
  phaseMarginMs: 2000,
  margin: 'near-full',
};
/** 600 a minute, burst 4, near-full margin 500 ms: what a generous process may ask for. */
const GENEROUS = sharedBucketRate(4, 600);
const take = (rate = 0, who = 0): Step => ({ kind: 'take', who, rate });
const wait = (ms: number): Step => ({ kind: 'clock', ms });

/** Sequences that land exactly on a boundary of the rule, where `>` and `>=` part. */
const BOUNDARIES: [BucketRate[], Step[]][] = [
  // Refilled to exactly full by the take itself: full since now, no quiet margin to pay.
  [
    [QUIET, QUIET, QUIET],
    [take(), wait(1500), take(), wait(1000), take()],
  ],
  // Full for exactly the margin: the take pays it.
  [
    [QUIET, QUIET, QUIET],
    [take(), wait(2000), take(), wait(1000), take()],
  ],
  // A pause ending 0.43 ms past a near-full margin's end still holds the provider.
  [
    [NEAR_FULL, NEAR_FULL, NEAR_FULL],
    [take(), wait(10_000), take(), { kind: 'pause', who: 1, ms: 1429 }, take()],
  ],
  // Two processes, two rates: the stricter one holds the generous one until, exactly
  // HELD_RATE_MS after it last asked, it lapses.
  [
    [QUIET, GENEROUS, QUIET],
    [take(0), take(1, 1), wait(100), take(1, 1), wait(HELD_RATE_MS - 100), take(1, 1), take(1, 1)],
  ],
  [
    [QUIET, GENEROUS, QUIET],
    [take(0), wait(HELD_RATE_MS - 1), take(1, 1), take(1, 1), wait(1), take(1, 1), take(1, 1)],
  ],
  // A refused take of the strict process asserts its rate as a granted one does.
  [
    [QUIET, GENEROUS, QUIET],
    [take(0), wait(HELD_RATE_MS - 10), take(1, 1), take(0), wait(20), take(1, 1), take(1, 1)],
  ],
];

/** Each run starts this far past the last one's clock, ahead of every mark it left. */
const RUN_SPACING_MS = 1e9;
let at = 1_800_000_000_000;
const clock = (): number => at;

const stores: { sqlite: Store[]; postgres: Store[] } = { sqlite: [], postgres: [] };

beforeAll(async () => {
  const path = join(tempDir(), 'budgets.db');
  const schema = uniqueTestName();
  for (let i = 0; i < 2; i++) {
    stores.sqlite.push(new SqliteStore({ path, clock }));
    stores.postgres.push(
      new PostgresStore({ uri: testPostgresUrl(), schema, databaseClock: clock }),
    );
  }
  for (const store of [...stores.sqlite, ...stores.postgres]) await store.open();
});

afterAll(async () => {
  for (const store of [...stores.sqlite, ...stores.postgres]) await store.close();
});

/** What two processes on `processes`' store are told, step by step, from `start` on. */
async function answers(
  processes: readonly Store[],
  provider: string,
  rates: readonly BucketRate[],
  steps: readonly Step[],
  start: number,
): Promise<(BudgetTake | 'paused')[]> {
  at = start;
  const told: (BudgetTake | 'paused')[] = [];
  for (const step of steps) {
    if (step.kind === 'clock') {
      at += step.ms;
      continue;
    }
    const budgets = (processes[step.who] as Store).budgets;
    if (step.kind === 'pause') {
      await budgets.pause(provider, step.ms);
      told.push('paused');
    } else {
      const rate = step.kind === 'take' ? (rates[step.rate] as BucketRate) : undefined;
      told.push(await budgets.take(provider, rate));
    }
  }
  return told;
}

describe('the shared bucket rule: the PostgreSQL store (SQL) answers as the SQLite store (bucket-level.ts)', () => {
  it('every sequence of takes at changing rates, pauses and clock steps either way (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(rateArb, { minLength: 3, maxLength: 3 }),
        fc.array(stepArb, { minLength: 1, maxLength: 50 }),
        async (rates, steps) => {
          run += 1;
          const start = 1_800_000_000_000 + run * RUN_SPACING_MS;
          const provider = `conformance_${run}`;
          const bySqlite = await answers(stores.sqlite, provider, rates, steps, start);
          const byPostgres = await answers(stores.postgres, provider, rates, steps, start);
          expect(byPostgres).toEqual(bySqlite);
        },
      ),
      { numRuns: 200, examples: BOUNDARIES },
    );
  });

  it('a provider held back by a refused take right after a clock step back is granted once its wait is over', async () => {
    for (const [kind, processes] of Object.entries(stores)) {
      at = 1_900_000_000_000 + (kind === 'sqlite' ? 0 : RUN_SPACING_MS);
      const [store] = processes as [Store];
      const rate: BucketRate = { burst: 1, ratePerMs: 1 / 1000, phaseMarginMs: 0 };
      expect(await store.budgets.take('stepped', rate)).toEqual({ granted: true });
      at -= 3_600_000;
      const refused = await store.budgets.take('stepped', rate);
      expect(refused, kind).toEqual({ granted: false, waitMs: 1000 });
      at += 1000;
      expect(await store.budgets.take('stepped', rate), kind).toEqual({ granted: true });
    }
  });
});
