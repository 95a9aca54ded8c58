import type pg from 'pg';
import { toError } from '../../core/errors.js';
import { BackendCancel } from './postgres-backend-cancel.js';

/**
 * Runs `work` on one pooled connection between `begin` (BEGIN, with any options or set-up
 * statements after it) and COMMIT, rolling back if anything throws. A connection that cannot
 * even roll back is discarded rather than returned to the pool. Aborting `signal` cancels the
 * statement in flight; the transaction is rolled back and the abort reason thrown.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  begin: string,
  work: (client: pg.PoolClient) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  signal?.throwIfAborted();
  const client = await pool.connect();
  const cancel = signal === undefined ? undefined : new BackendCancel(pool, client, signal);
  let broken: Error | boolean | undefined;
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error: unknown) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    // The server's "canceling statement due to user request" is our own cancel: say why.
    if (signal?.aborted) throw toError(signal.reason);
    throw error;
  } finally {
    if ((await cancel?.stop()) === true) broken ??= true;
    client.release(broken);
  }
}
