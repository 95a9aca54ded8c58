import { afterEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { BackendCancel } from '../../src/store/postgres/postgres-backend-cancel.js';
import { createPostgresPool } from '../../src/store/postgres/postgres-pool.js';
import { inTransaction } from '../../src/store/postgres/postgres-transaction.js';
import { testPostgresUrl } from '../helpers/postgres-test-server.js';

const pools: pg.Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()));
});

function pool(): pg.Pool {
  const created = createPostgresPool(testPostgresUrl(), { max: 2, connectTimeoutMs: 5_000 });
  pools.push(created);
  return created;
}

/** The backend pid of a connection the pool hands out next. */
async function nextPid(target: pg.Pool): Promise<number> {
  const result = await target.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return Number(result.rows[0]?.pid);
}

describe('inTransaction on a real PostgreSQL', () => {
  it('commits what the work did and returns its result', async () => {
    const target = pool();
    const value = await inTransaction(target, 'BEGIN', async (client) => {
      await client.query('CREATE TEMP TABLE t (x int) ON COMMIT DROP');
      await client.query('INSERT INTO t VALUES (1), (2)');
      const result = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
      return result.rows[0]?.n;
    });
    expect(value).toBe(2);
  });

  it('rolls back on failure, rethrows the work error and keeps the healthy connection', async () => {
    const target = pool();
    const pid = await nextPid(target);
    const error = await inTransaction(target, 'BEGIN', async (client) => {
      await client.query('SET LOCAL application_name = $$in_failed_tx$$');
      throw new Error('work failed');
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('work failed');
    // Rolled back: the SET LOCAL is gone, and the same connection went back to the pool.
    const after = await target.query<{ name: string; pid: number }>(
      "SELECT current_setting('application_name') AS name, pg_backend_pid() AS pid",
    );
    expect(after.rows[0]?.name).not.toBe('in_failed_tx');
    expect(Number(after.rows[0]?.pid)).toBe(pid);
  });

  it('a session the server ends mid-transaction: the error reaches the caller, the dead connection leaves the pool, a fresh one follows', async () => {
    const target = pool();
    const killed = await nextPid(target);
    const error = await inTransaction(target, 'BEGIN', async (client) => {
      // The server ends this very session: the statement fails, and so will ROLLBACK.
      await client.query('SELECT pg_terminate_backend(pg_backend_pid())');
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(target.totalCount).toBe(0);
    const fresh = await nextPid(target);
    expect(fresh).not.toBe(killed);
  });
});

describe('BackendCancel on a real PostgreSQL', () => {
  it('given a signal aborted already, cancels the statement at once (its abort event is long gone)', async () => {
    const target = pool();
    const client = await target.connect();
    const cancel = new BackendCancel(target, client, AbortSignal.abort(new Error('stop')));
    const started = Date.now();
    const error = await client.query('SELECT pg_sleep(20)').catch((e: unknown) => e);
    expect(String(error)).toMatch(/canceling statement due to user request/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await cancel.stop()).toBe(true);
    client.release(true);
  }, 30_000);
});
