/**
 * The TickClaims port (Store.ticks), the same on both stores: a tick is claimed once ever, in
 * order, by whichever service gets there first, and its outcome is kept.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { CLAIM_LEASE_MS } from '../../src/store/tick-claims.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';
import { afterEach } from 'vitest';

const T0 = Date.UTC(2024, 0, 2, 23, 30);
const MINUTE = 60_000;

describe.each(STORAGE_KINDS)('%s: tick claims', (kind) => {
  const tempDir = useTempDir();
  const opened: Store[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  async function open(dir: string, clock?: () => number): Promise<Store> {
    const store = await openTestStore(kind, dir, clock ? { clock } : {});
    opened.push(store);
    return store;
  }

  it('a job that never ticked has no last tick', async () => {
    const store = await open(tempDir());
    expect(await store.ticks.lastTick('daily')).toBeUndefined();
    expect(await store.ticks.list('daily')).toEqual([]);
  });

  it('the first claim of a tick wins; a second claim of it, by anyone, loses', async () => {
    const store = await open(tempDir());
    expect(await store.ticks.claim('daily', T0, 'host-a:1')).toBe(true);
    expect(await store.ticks.claim('daily', T0, 'host-b:2')).toBe(false);
    expect(await store.ticks.claim('daily', T0, 'host-a:1')).toBe(false);
    // Another job's tick at the same time is its own.
    expect(await store.ticks.claim('hourly', T0, 'host-b:2')).toBe(true);
    const last = await store.ticks.lastTick('daily');
    expect(last).toMatchObject({
      jobName: 'daily',
      tickAt: T0,
      claimant: 'host-a:1',
      catchup: false,
      outcome: null,
      runId: null,
      detail: null,
      finishedAt: null,
    });
    expect(typeof last?.claimedAt).toBe('number');
  });

  it('an older tick cannot be claimed once a later one is', async () => {
    const store = await open(tempDir());
    expect(await store.ticks.claim('daily', T0 + 2 * MINUTE, 'a')).toBe(true);
    expect(await store.ticks.claim('daily', T0 + MINUTE, 'b')).toBe(false);
    expect(await store.ticks.claim('daily', T0 + 3 * MINUTE, 'b')).toBe(true);
    expect((await store.ticks.list('daily')).map((tick) => tick.tickAt)).toEqual([
      T0 + 3 * MINUTE,
      T0 + 2 * MINUTE,
    ]);
  });

  it('records the outcome, run and detail of a claimed tick, and a catch-up claim says so', async () => {
    let now = T0 + 5_000;
    const store = await open(tempDir(), () => now);
    await store.ticks.claim('daily', T0, 'a', { catchup: true });
    now += 7_000;
    await store.ticks.record('daily', T0, { outcome: 'ran', runId: 17 });
    await store.ticks.claim('daily', T0 + MINUTE, 'a');
    await store.ticks.record('daily', T0 + MINUTE, {
      outcome: 'skipped',
      detail: 'run 17 of daily is still running',
    });
    const [skipped, ran] = await store.ticks.list('daily');
    expect(ran).toMatchObject({ tickAt: T0, catchup: true, outcome: 'ran', runId: 17 });
    expect(skipped).toMatchObject({
      tickAt: T0 + MINUTE,
      catchup: false,
      outcome: 'skipped',
      runId: null,
      detail: 'run 17 of daily is still running',
    });
    if (kind === 'sqlite') {
      // SQLite stamps with this host's clock; PostgreSQL with its own.
      expect(ran?.claimedAt).toBe(T0 + 5_000);
      expect(ran?.finishedAt).toBe(T0 + 12_000);
    } else {
      expect(ran?.finishedAt).toBeGreaterThanOrEqual(ran?.claimedAt ?? Infinity);
    }
    expect(await store.ticks.list('daily', { limit: 1 })).toEqual([skipped]);
  });

  it('claimers racing on one store claim every tick exactly once between them', async () => {
    const dir = tempDir();
    const stores = [await open(dir), await open(dir), await open(dir)];
    const ticks = Array.from({ length: 30 }, (_, i) => T0 + i * MINUTE);
    const wins = await Promise.all(
      stores.map(async (store, index) => {
        const won: number[] = [];
        for (const tick of ticks) {
          if (await store.ticks.claim('race', tick, `claimer-${index}`)) won.push(tick);
        }
        return won;
      }),
    );
    const all = wins.flat().sort((a, b) => a - b);
    expect(all).toEqual(ticks);
    const claims = await stores[0]!.ticks.list('race');
    expect(claims).toHaveLength(30);
    for (const claim of claims) {
      const winner = wins.findIndex((won) => won.includes(claim.tickAt));
      expect(claim.claimant).toBe(`claimer-${winner}`);
    }
  });

  it("a claim without an outcome is its claimant's while it beats, and taken over once it stops", async () => {
    let now = T0;
    // Beats are judged by the store's clock: the host's on SQLite, the database's on PostgreSQL.
    const store = await openTestStore(kind, tempDir(), {
      clock: () => now,
      databaseClock: () => now,
    });
    opened.push(store);
    await store.ticks.beat('live:1');
    expect(await store.ticks.claim('daily', T0, 'live:1')).toBe(true);
    expect(await store.ticks.lastTick('daily')).toMatchObject({ claimantAlive: true });
    expect(await store.ticks.orphans('daily')).toEqual([]);
    expect(await store.ticks.takeOver('daily', T0, 'live:1', 'next:2')).toBe(false);

    // The claimant dies (no beat for a lease): its claim is an orphan, for one taker only.
    now = T0 + CLAIM_LEASE_MS + 1;
    expect(await store.ticks.lastTick('daily')).toMatchObject({
      claimant: 'live:1',
      claimantAlive: false,
      outcome: null,
    });
    expect((await store.ticks.orphans('daily')).map((tick) => tick.tickAt)).toEqual([T0]);
    await store.ticks.beat('next:2');
    expect(await store.ticks.takeOver('daily', T0, 'live:1', 'next:2')).toBe(true);
    expect(await store.ticks.takeOver('daily', T0, 'live:1', 'other:3')).toBe(false);
    expect(await store.ticks.lastTick('daily')).toMatchObject({
      claimant: 'next:2',
      claimantAlive: true,
      catchup: true,
      outcome: null,
    });
    expect(await store.ticks.orphans('daily')).toEqual([]);
  });

  it('lists the claimants that died lately: beat older than the lease, by at most the window more', async () => {
    let now = T0;
    const store = await openTestStore(kind, tempDir(), {
      clock: () => now,
      databaseClock: () => now,
    });
    opened.push(store);
    await store.ticks.beat('long-dead:1');
    now = T0 + 10 * MINUTE;
    await store.ticks.beat('died:2');
    now += MINUTE;
    await store.ticks.beat('alive:3');
    expect(await store.ticks.diedLately(5 * MINUTE)).toEqual([]);
    // died:2 beat a lease and a millisecond ago; long-dead:1 past the window; alive:3 within.
    now = T0 + 10 * MINUTE + CLAIM_LEASE_MS + 1;
    expect(await store.ticks.diedLately(5 * MINUTE)).toEqual(['died:2']);
    expect(await store.ticks.diedLately(20 * MINUTE)).toEqual(['long-dead:1', 'died:2']);
    now += 5 * MINUTE;
    expect(await store.ticks.diedLately(5 * MINUTE)).toEqual(['alive:3']);
  });

  it('a claim whose claimant never beat is an orphan; one with an outcome is not', async () => {
    const store = await open(tempDir());
    expect(await store.ticks.claim('daily', T0, 'never-beat:1')).toBe(true);
    expect(await store.ticks.claim('daily', T0 + MINUTE, 'never-beat:1')).toBe(true);
    await store.ticks.record('daily', T0 + MINUTE, { outcome: 'ran', runId: 3 });
    expect((await store.ticks.orphans('daily')).map((tick) => tick.tickAt)).toEqual([T0]);
    expect(await store.ticks.takeOver('daily', T0 + MINUTE, 'never-beat:1', 'b')).toBe(false);
  });

  it('a tick lost to store errors is written missed, whatever later ticks are claimed, once', async () => {
    const store = await open(tempDir());
    expect(await store.ticks.claim('daily', T0 + MINUTE, 'a')).toBe(true);
    expect(await store.ticks.recordUnclaimed('daily', T0, 'a', 'store down')).toBe(true);
    expect(await store.ticks.recordUnclaimed('daily', T0, 'a', 'again')).toBe(false);
    expect(await store.ticks.recordUnclaimed('daily', T0 + MINUTE, 'a', 'claimed')).toBe(false);
    const [newest, lost] = await store.ticks.list('daily');
    expect(newest).toMatchObject({ tickAt: T0 + MINUTE, outcome: null });
    expect(lost).toMatchObject({ tickAt: T0, outcome: 'missed', detail: 'store down' });
  });
});
