import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();

const RATE = { burst: 4, ratePerMs: 0.01, phaseMarginMs: 0 };

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

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
});
