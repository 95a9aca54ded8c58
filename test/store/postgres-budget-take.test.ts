import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { BucketRate } from '../../src/core/bucket-level.js';
import { StoreError } from '../../src/core/errors.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl } from '../helpers/postgres-test-server.js';
import { roundTripCounter } from '../helpers/postgres-round-trips.js';

/** 60 a minute, burst 1: a take, then a refusal until a second has passed. */
const RATE: BucketRate = { burst: 1, ratePerMs: 1 / 1000, phaseMarginMs: 0 };

/** A thousand a second: a take granted whenever the row is free. */
const FAST: BucketRate = { burst: 5, ratePerMs: 1, phaseMarginMs: 0 };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openStore(options: { uri?: string; clock?: () => number; schema?: string } = {}) {
  const store = new PostgresStore({
    uri: options.uri ?? testPostgresUrl(),
    schema: options.schema ?? uniqueTestName(),
    ...(options.clock ? { databaseClock: options.clock } : {}),
    // A pool lock_timeout a take must not wait out (its own wait is a second).
    timeouts: { statementMs: 300_000, lockMs: 60_000 },
  });
  cleanups.push(() => store.close());
  await store.open();
  return store;
}

/** Another process's session holding the provider's row locked, as a take frozen mid-way would. */
async function holdRow(schema: string, provider: string): Promise<pg.Client> {
  const holder = new pg.Client({ connectionString: testPostgresUrl() });
  cleanups.push(() => holder.end());
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query(`SELECT * FROM ${schema}.provider_budgets WHERE provider = $1 FOR UPDATE`, [
    provider,
  ]);
  return holder;
}

describe('a take from a provider budget shared through PostgreSQL', () => {
  it('is one round trip, granted or refused; so is a pause, and a take without a rate', async () => {
    const counter = await roundTripCounter(testPostgresUrl());
    cleanups.push(() => counter.close());
    let at = 1_800_000_000_000;
    const store = await openStore({ uri: counter.url, clock: () => at });
    // The pool's first connection is made (and set up) by the first take.
    expect(await store.budgets.take('warm', RATE)).toEqual({ granted: true });
    const tripsOf = async (what: () => Promise<unknown>): Promise<[unknown, number]> => {
      const before = counter.count();
      const answer = await what();
      return [answer, counter.count() - before];
    };
    expect(await tripsOf(() => store.budgets.take('polygon', RATE))).toEqual([
      { granted: true },
      1,
    ]);
    expect(await tripsOf(() => store.budgets.take('polygon', RATE))).toEqual([
      { granted: false, waitMs: 1000 },
      1,
    ]);
    expect(await tripsOf(() => store.budgets.pause('polygon', 5000))).toEqual([undefined, 1]);
    at += 1000;
    expect(await tripsOf(() => store.budgets.take('polygon', undefined))).toEqual([
      { granted: false, waitMs: 4000 },
      1,
    ]);
  });

  it('waits for a row another session holds: granted once it lets go, MDP_STORE_BUSY after a second (not the pool lock_timeout), cancelled on abort', async () => {
    const schema = uniqueTestName();
    const store = await openStore({ schema });
    expect(await store.budgets.take('polygon', FAST)).toEqual({ granted: true });

    let holder = await holdRow(schema, 'polygon');
    const waiting = store.budgets.take('polygon', FAST);
    setTimeout(() => void holder.query('ROLLBACK'), 300);
    expect(await waiting).toEqual({ granted: true });

    holder = await holdRow(schema, 'polygon');
    // Aborted while it waits on the lock: cancelled then, not failed a second later as busy.
    const controller = new AbortController();
    const aborted = store.budgets.take('polygon', RATE, controller.signal);
    setTimeout(() => controller.abort(new Error('SIGTERM')), 300);
    const abortError: unknown = await aborted.catch((e: unknown) => e);
    expect(String(abortError)).toMatch(/SIGTERM/);
    expect(abortError).not.toMatchObject({ code: 'MDP_STORE_BUSY' });

    const started = performance.now();
    const error: unknown = await store.budgets.take('polygon', RATE).catch((e: unknown) => e);
    const waitedMs = performance.now() - started;
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'MDP_STORE_BUSY', transient: true });
    expect(String(error)).toMatch(/shared budget of provider polygon .* stayed locked .* 1000 ms/);
    // Its own wait (a second), not the pool's lock_timeout of a minute.
    expect(waitedMs).toBeLessThan(30_000);
    // The row still held: the next take waits only briefly before it fails alike.
    const again: unknown = await store.budgets.take('polygon', RATE).catch((e: unknown) => e);
    expect(String(again)).toMatch(/stayed locked .* 50 ms/);
    await holder.query('ROLLBACK');
    // The row is free again: the take waits its full second again, and gets it.
    expect(await store.budgets.take('polygon', FAST)).toEqual({ granted: true });
  });

  it("sets its lock wait for its own statement only: the session's lock_timeout stays", async () => {
    const schema = uniqueTestName();
    await openStore({ schema });
    const client = new pg.Client({ connectionString: testPostgresUrl() });
    cleanups.push(() => client.end());
    await client.connect();
    await client.query("SET lock_timeout = '45s'");
    const take = await client.query<{ wait_ms: number }>(
      `SELECT o_wait_ms AS wait_ms FROM ${schema}.mdp_budget_take('polygon', 1, 0.001, 0, 'quiet', 1000, 'budgets_clock:polygon', NULL)`,
    );
    expect(take.rows[0]?.wait_ms).toBe(0);
    expect((await client.query('SHOW lock_timeout')).rows[0]).toEqual({ lock_timeout: '45s' });
  });
});
