import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();

const RATE = { burst: 4, ratePerMs: 0.01, phaseMarginMs: 0 };

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A store on a new file, and another connection to the file (another process) to lock it with. */
async function storeAndOther(): Promise<{ store: SqliteStore; other: Database.Database }> {
  const path = join(tempDir(), 'budget.db');
  const store = new SqliteStore({ path });
  cleanups.push(() => store.close());
  await store.open();
  const other = new SqliteDatabase(path);
  cleanups.push(() => {
    other.close();
  });
  return { store, other };
}

/** Takes the file's write lock on `other` until the test ends. */
function holdLock(other: Database.Database): void {
  other.exec('BEGIN IMMEDIATE');
  cleanups.push(() => {
    other.exec('ROLLBACK');
  });
}

describe('a take from an SQLite store whose file another connection holds locked', () => {
  it('does not freeze the event loop (timers, signals, /healthz, heartbeats) while it waits for the lock', async () => {
    const path = join(tempDir(), 'budget.db');
    const store = new SqliteStore({ path });
    cleanups.push(() => store.close());
    await store.open();
    expect(await store.budgets.take('source', RATE)).toEqual({ granted: true });
    // Another process's long write (or a sqlite3 shell inside BEGIN IMMEDIATE) holds the lock.
    const other = new SqliteDatabase(path);
    cleanups.push(() => {
      other.close();
    });
    other.exec('BEGIN IMMEDIATE');
    cleanups.push(() => {
      other.exec('ROLLBACK');
    });
    // A timer due in 50 ms: what a heartbeat, a signal handler or an HTTP answer would need.
    const due = performance.now() + 50;
    let firedLateBy: number | undefined;
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        firedLateBy = performance.now() - due;
        resolve();
      }, 50),
    );
    // better-sqlite3 is synchronous: BEGIN IMMEDIATE spins in busy_timeout (5 s) on this thread.
    await store.budgets.take('source', RATE).catch(() => undefined);
    await timer;
    expect(firedLateBy, `a 50 ms timer fired ${Math.round(firedLateBy ?? 0)} ms late`).toBeLessThan(
      1_000,
    );
  });

  it('gets the budget once the other connection lets go, and gives up at once with the abort reason', async () => {
    const { store, other } = await storeAndOther();
    other.exec('BEGIN IMMEDIATE');
    const waiting = store.budgets.take('source', RATE);
    setTimeout(() => other.exec('ROLLBACK'), 300);
    expect(await waiting).toEqual({ granted: true });

    holdLock(other);
    const controller = new AbortController();
    const aborted = store.budgets.take('source', RATE, controller.signal);
    const reason = new Error('SIGTERM');
    setTimeout(() => controller.abort(reason), 100);
    await expect(aborted).rejects.toBe(reason);
  });

  it('fails as a transient MDP_STORE_BUSY when the lock outlasts its wait (the caller then paces alone)', async () => {
    const { store, other } = await storeAndOther();
    holdLock(other);
    const error: unknown = await store.budgets.take('source', RATE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'MDP_STORE_BUSY', transient: true });
    expect(String(error)).toMatch(/shared budget of provider source .* stayed locked/);
  });
});
