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

  /** A store whose beats are judged by `clock`: the host's on SQLite, the database's on PostgreSQL. */
  async function openOnClock(clock: () => number): Promise<Store> {
    const store = await openTestStore(kind, tempDir(), { clock, databaseClock: clock });
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
    expect(await store.ticks.record('daily', T0, 'a', { outcome: 'ran', runId: 17 })).toBe(true);
    await store.ticks.claim('daily', T0 + MINUTE, 'a');
    await store.ticks.record('daily', T0 + MINUTE, 'a', {
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
    const store = await openOnClock(() => now);
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
    const store = await openOnClock(() => now);
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
    await store.ticks.record('daily', T0 + MINUTE, 'never-beat:1', { outcome: 'ran', runId: 3 });
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

  it('a claimant frozen past the lease finds its claim lost once taken over: it can neither run nor record it', async () => {
    let now = T0;
    const store = await openOnClock(() => now);
    expect(await store.ticks.beat('frozen:1')).toBeUndefined();
    expect(await store.ticks.claim('daily', T0, 'frozen:1')).toBe(true);
    expect(await store.ticks.standing('daily', T0, 'frozen:1')).toBe('held');
    expect(await store.ticks.standing('daily', T0, 'peer:2')).toBe('lost');

    // Frozen past the lease: still its own, but up for adoption (it must beat before running).
    now = T0 + CLAIM_LEASE_MS + 1;
    expect(await store.ticks.standing('daily', T0, 'frozen:1')).toBe('lapsed');
    await store.ticks.beat('peer:2');
    expect(await store.ticks.takeOver('daily', T0, 'frozen:1', 'peer:2')).toBe(true);
    expect(await store.ticks.record('daily', T0, 'peer:2', { outcome: 'ran', runId: 8 })).toBe(
      true,
    );

    // Resumed: its beat says how long it was silent; the claim and the record are the peer's.
    now += 5_000;
    expect(await store.ticks.beat('frozen:1')).toBe(CLAIM_LEASE_MS + 5_001);
    expect(await store.ticks.standing('daily', T0, 'frozen:1')).toBe('lost');
    const failed = { outcome: 'failed', detail: 'superseded' } as const;
    expect(await store.ticks.record('daily', T0, 'frozen:1', failed)).toBe(false);
    expect(await store.ticks.lastTick('daily')).toMatchObject({
      claimant: 'peer:2',
      outcome: 'ran',
      runId: 8,
    });
    // A finished claim is lost to everyone: nobody runs it again.
    expect(await store.ticks.standing('daily', T0, 'peer:2')).toBe('lost');
  });

  it('a beat 15 s after the last one reports 15 s; a standing check and a take-over never both win', async () => {
    let now = T0;
    const store = await openOnClock(() => now);
    await store.ticks.beat('a:1');
    now += 15_000;
    expect(await store.ticks.beat('a:1')).toBe(15_000);
    for (let tick = 0; tick < 20; tick += 1) {
      const tickAt = T0 + tick * MINUTE;
      await store.ticks.beat('a:1');
      expect(await store.ticks.claim('race', tickAt, 'a:1')).toBe(true);
      now += CLAIM_LEASE_MS + 1;
      await store.ticks.beat('b:2');
      // The claimant beats and checks while the peer takes over: one of them has the tick.
      const [standing, taken] = await Promise.all([
        store.ticks.beat('a:1').then(() => store.ticks.standing('race', tickAt, 'a:1')),
        store.ticks.takeOver('race', tickAt, 'a:1', 'b:2'),
      ]);
      expect(standing === 'held').toBe(!taken);
    }
  });

  it('a claimant that leaves cleanly is not among those that died; one with a claim open stays', async () => {
    let now = T0;
    const store = await openOnClock(() => now);
    await store.ticks.beat('clean:1');
    await store.ticks.beat('open:2');
    expect(await store.ticks.claim('daily', T0, 'clean:1')).toBe(true);
    expect(await store.ticks.record('daily', T0, 'clean:1', { outcome: 'ran' })).toBe(true);
    expect(await store.ticks.claim('daily', T0 + MINUTE, 'open:2')).toBe(true);
    expect(await store.ticks.leave('clean:1')).toBe(true);
    expect(await store.ticks.leave('open:2')).toBe(false);
    now += CLAIM_LEASE_MS + 1;
    expect(await store.ticks.diedLately(MINUTE)).toEqual(['open:2']);
  });
});
