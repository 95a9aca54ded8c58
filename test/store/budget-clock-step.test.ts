import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BucketRate } from '../../src/core/bucket-level.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl } from '../helpers/postgres-test-server.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();

/** 60 a minute, burst 2: a token a second. */
const RATE: BucketRate = { burst: 2, ratePerMs: 1 / 1000, phaseMarginMs: 0 };

const opened: Store[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

describe('a provider budget in an SQLite store when the host clock steps back', () => {
  it('a wall-clock step back (NTP, a VM resumed, date -s) does not stall the provider for the size of the step', async () => {
    // The SQLite budget is timed by Date.now(), the wall clock, not a monotonic one: a row
    // written before the step lies "in the future" afterwards, and refilled() adds nothing while
    // now <= updated_at, so every process on the file waits out the whole step.
    let at = 1_800_000_000_000;
    const store = new SqliteStore({ path: join(tempDir(), 'budget.db'), clock: () => at });
    opened.push(store);
    await store.open();
    expect(await store.budgets.take('polygon_1', RATE)).toEqual({ granted: true });
    expect(await store.budgets.take('polygon_1', RATE)).toEqual({ granted: true });
    // The host's clock is stepped back one hour (and keeps running from there).
    at -= 3_600_000;
    const answer = await store.budgets.take('polygon_1', RATE);
    const waitMs = answer.granted ? 0 : answer.waitMs;
    // At 60 a minute the next token is at most a second away, whatever the wall clock says.
    expect(waitMs, `the provider is held ${Math.round(waitMs / 1000)} s`).toBeLessThanOrEqual(1000);
  });
});

describe('a provider budget in a PostgreSQL store when the database server clock steps back', () => {
  it('a step back of the database clock does not stall the provider for the size of the step', async () => {
    let at = 1_800_000_000_000;
    const store = new PostgresStore({
      uri: testPostgresUrl(),
      schema: uniqueTestName(),
      databaseClock: () => at,
    });
    opened.push(store);
    await store.open();
    expect(await store.budgets.take('polygon_1', RATE)).toEqual({ granted: true });
    expect(await store.budgets.take('polygon_1', RATE)).toEqual({ granted: true });
    at -= 3_600_000;
    const answer = await store.budgets.take('polygon_1', RATE);
    const waitMs = answer.granted ? 0 : answer.waitMs;
    expect(waitMs, `the provider is held ${Math.round(waitMs / 1000)} s`).toBeLessThanOrEqual(1000);
  });
});
