/**
 * A signal cancels a PostgreSQL write wherever it waits: on a lock another session holds, and
 * before that for a pool connection (every connection waiting on the same lock). A backfill with
 * concurrency 16 against a pool of 10 and a locked bars table used to answer SIGINT only when
 * lock_timeout ended the queued writes (30.3 s measured).
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl, useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { makeBar } from './store-conformance.js';

const db = useTestPostgresPool();

describe('a write queued for a pool connection when the signal aborts', () => {
  it('is cancelled too, not left to wait for lock_timeout, and gives its connection back', async () => {
    const schema = uniqueTestName();
    const store = new PostgresStore({
      uri: testPostgresUrl(),
      schema,
      poolSize: 1,
      timeouts: { statementMs: 60_000, lockMs: 20_000 },
    });
    await store.open();
    let holder: pg.PoolClient | undefined;
    try {
      holder = await db().connect();
      await holder.query('BEGIN');
      await holder.query(`LOCK TABLE "${schema}".bars_ohlcv IN ACCESS EXCLUSIVE MODE`);
      const cancel = new AbortController();
      const settle = (write: Promise<unknown>) =>
        write.then(
          () => ({ at: Date.now(), error: undefined }),
          (error: unknown) => ({ at: Date.now(), error }),
        );
      const waiting = settle(store.writeBatch({ runId: 1, bars: [makeBar(0)] }, cancel.signal));
      const queued = settle(store.writeBatch({ runId: 1, bars: [makeBar(1)] }, cancel.signal));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const aborted = Date.now();
      cancel.abort(new Error('interrupted by SIGINT'));
      for (const write of [await waiting, await queued]) {
        expect(write.at - aborted).toBeLessThan(3_000);
        expect(String(write.error)).toMatch(/interrupted by SIGINT/);
      }
      await holder.query('ROLLBACK');
      // The pool's one connection came back (the queued write's arrived after the abort).
      await expect(store.writeBatch({ runId: 1, bars: [makeBar(2)] })).resolves.toMatchObject({
        rowsWritten: 1,
      });
      expect(await store.countBars()).toBe(1);
    } finally {
      await holder?.query('ROLLBACK');
      holder?.release();
      await store.close();
    }
  }, 60_000);
});
