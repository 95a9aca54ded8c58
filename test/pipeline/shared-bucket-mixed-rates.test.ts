/**
 * Processes that configure one provider name with different rates on one store (a config edited
 * and only some processes restarted) share one `provider_budgets` row. The row holds every taker
 * to the strictest rate and burst asked for recently (HeldRate), so together they stay within the
 * strict config's bound, and the generous process is told the rate it was held to. Driven through
 * both stores, each with two connections as two processes, on a clock the test moves.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HELD_RATE_MS, type BucketRate } from '../../src/core/bucket-level.js';
import { sharedBucketRate } from '../../src/pipeline/policies/store-token-bucket.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import type { BudgetTake } from '../../src/store/provider-budgets.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl } from '../helpers/postgres-test-server.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, type StorageKind } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const MINUTE = 60_000;
const PROVIDER = 'polygon';

let at = 1_800_000_000_000;
const clock = (): number => at;
const opened: Store[] = [];

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

/** Two connections to one store of `kind`: two processes. */
async function twoProcesses(kind: StorageKind): Promise<[Store, Store]> {
  const path = join(tempDir(), 'budgets.db');
  const schema = uniqueTestName();
  const open = async (): Promise<Store> => {
    const store =
      kind === 'sqlite'
        ? new SqliteStore({ path, clock })
        : new PostgresStore({ uri: testPostgresUrl(), schema, databaseClock: clock });
    await store.open();
    opened.push(store);
    return store;
  };
  return [await open(), await open()];
}

/** What the processes did while each asked whenever it could, from now for `ms`. */
interface Shared {
  readonly grants: number[];
  /** Each process's answers that said it was held to another rate than its own. */
  readonly heldTo: NonNullable<BudgetTake['heldTo']>[][];
}

/** Each process takes at its own rate whenever it may (a busy backfill), for `ms`. */
async function shareOneRow(
  processes: readonly Store[],
  rates: readonly BucketRate[],
  ms: number,
): Promise<Shared> {
  const start = at;
  const askAt = processes.map(() => start);
  const grants = processes.map(() => 0);
  const heldTo: Shared['heldTo'] = processes.map(() => []);
  let turn = 0;
  for (;;) {
    at = Math.min(...askAt);
    if (at > start + ms) return { grants, heldTo };
    // Processes asking at one moment race for the lock: each wins in turn.
    const ready = askAt.flatMap((time, index) => (time === at ? [index] : []));
    const who = ready[turn++ % ready.length] as number;
    const answer = await (processes[who] as Store).budgets.take(PROVIDER, rates[who]);
    if (answer.heldTo !== undefined) heldTo[who]?.push(answer.heldTo);
    if (answer.granted) {
      grants[who] = (grants[who] ?? 0) + 1;
      askAt[who] = at + 1;
    } else {
      askAt[who] = at + answer.waitMs;
    }
  }
}

describe.each(STORAGE_KINDS)('one shared budget row, two configured rates (%s)', (kind) => {
  const strict = sharedBucketRate(1, 60);
  const generous = sharedBucketRate(1, 600);

  it('holds both processes to the strict rate, and tells the generous one so', async () => {
    at += 10 * MINUTE;
    const processes = await twoProcesses(kind);
    const { grants, heldTo } = await shareOneRow(processes, [strict, generous], MINUTE);
    const [byStrict = 0, byGenerous = 0] = grants;
    console.log(`${kind}: 60/min and 600/min on one row: ${byStrict} + ${byGenerous} in a minute`);
    // The strict config's own bound: a full bucket, then its rate.
    expect(byStrict + byGenerous).toBeLessThanOrEqual(1 + 60);
    // Held to the strict rate, not starved by the generous one: both take.
    expect(byStrict).toBeGreaterThan(0);
    expect(byGenerous).toBeGreaterThan(0);
    expect(heldTo[0]).toEqual([]);
    expect(heldTo[1]?.length).toBeGreaterThan(0);
    expect(new Set(heldTo[1]?.map((held) => JSON.stringify(held)))).toEqual(
      new Set([JSON.stringify({ ratePerMs: strict.ratePerMs, burst: 1 })]),
    );
  });

  it('holds them to the smaller burst too, and lets the generous rate go once the strict process has not asked for it in a while', async () => {
    at += 10 * MINUTE;
    const processes = await twoProcesses(kind);
    const smallBurst = sharedBucketRate(1, 600);
    const largeBurst = sharedBucketRate(5, 600);
    const held = await shareOneRow(processes, [smallBurst, largeBurst], MINUTE);
    expect(held.grants.reduce((a, b) => a + b)).toBeLessThanOrEqual(1 + 600);
    expect(held.heldTo[1]?.at(-1)).toEqual({ ratePerMs: smallBurst.ratePerMs, burst: 1 });

    // The strict process stops (killed, or reloaded with the generous config)...
    await shareOneRow(processes, [strict, generous], MINUTE);
    at += HELD_RATE_MS;
    // ...so after HELD_RATE_MS without its takes, the generous one alone has its own rate back.
    const alone = await shareOneRow([processes[1] as Store], [generous], MINUTE);
    expect(alone.grants[0]).toBeGreaterThan(5 * (1 + 60));
    expect(alone.grants[0]).toBeLessThanOrEqual(1 + 600);
    expect(alone.heldTo[0]).toEqual([]);
  });
});
