/**
 * `storage.primary.statement_timeout` and `lock_timeout` on the store's connections, and the
 * cancel of a waiting write by its signal, against the real PostgreSQL with a table lock held by
 * another session.
 */
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../../src/core/errors.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl, useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { failure, makeBar } from './store-conformance.js';

const db = useTestPostgresPool();
const opened: PostgresStore[] = [];
const holders: pg.PoolClient[] = [];
afterEach(async () => {
  for (const holder of holders.splice(0)) {
    await holder.query('ROLLBACK');
    holder.release();
  }
  for (const store of opened.splice(0)) await store.close();
});

/** A store with the given limits, and another session holding its bars table locked. */
async function lockedStore(timeouts: { statementMs: number; lockMs: number }) {
  const schema = uniqueTestName();
  const store = new PostgresStore({ uri: testPostgresUrl(), schema, timeouts });
  opened.push(store);
  await store.open();
  const holder = await db().connect();
  holders.push(holder);
  await holder.query('BEGIN');
  await holder.query(`LOCK TABLE "${schema}".bars_ohlcv IN ACCESS EXCLUSIVE MODE`);
  return { store, unlock: () => holder.query('COMMIT') };
}

describe('PostgresStore timeouts', () => {
  it('a write waiting past lock_timeout is MDP_STORE_BUSY, transient, naming the setting', async () => {
    const { store } = await lockedStore({ statementMs: 60_000, lockMs: 200 });
    const error = await failure(store.writeBatch({ runId: 1, bars: [makeBar(0)] }));
    expect(error).toMatchObject({ code: 'MDP_STORE_BUSY', transient: true });
    expect(error.message).toMatch(
      /waited past storage\.primary\.lock_timeout \(200ms\) for a lock another session holds: canceling statement due to lock timeout \(55P03\)/,
    );
  });

  it('a statement past statement_timeout is MDP_STORE_TIMEOUT, transient, naming the setting', async () => {
    const { store } = await lockedStore({ statementMs: 300, lockMs: 60_000 });
    const error = await failure(store.writeBatch({ runId: 1, bars: [makeBar(0)] }));
    expect(error).toMatchObject({ code: 'MDP_STORE_TIMEOUT', transient: true });
    expect(error.message).toMatch(
      /ran past storage\.primary\.statement_timeout \(300ms\): canceling statement due to statement timeout \(57014\)/,
    );
  });

  it('aborting the signal cancels a write waiting for the lock; the batch is rolled back', async () => {
    const { store, unlock } = await lockedStore({ statementMs: 60_000, lockMs: 60_000 });
    const controller = new AbortController();
    const write = store.writeBatch({ runId: 1, bars: [makeBar(0)] }, controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const aborted = Date.now();
    controller.abort(
      new CancelledError('interrupted by SIGINT', { kind: 'signal', signal: 'SIGINT' }),
    );
    await expect(write).rejects.toBeInstanceOf(CancelledError);
    expect(Date.now() - aborted).toBeLessThan(1_000);
    await unlock();
    expect(await store.countBars()).toBe(0);
    // The pool goes on with fresh connections.
    await store.writeBatch({ runId: 1, bars: [makeBar(1)] });
    expect(await store.countBars()).toBe(1);
  });

  it('a signal aborted before the write starts refuses it without touching the database', async () => {
    const store = new PostgresStore({ uri: testPostgresUrl(), schema: uniqueTestName() });
    opened.push(store);
    await store.open();
    const controller = new AbortController();
    controller.abort(
      new CancelledError('interrupted by SIGTERM', { kind: 'signal', signal: 'SIGTERM' }),
    );
    await expect(
      store.writeBatch({ runId: 1, bars: [makeBar(0)] }, controller.signal),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(await store.countBars()).toBe(0);
  });
});
