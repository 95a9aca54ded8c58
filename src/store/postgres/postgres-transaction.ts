import type pg from 'pg';
import { toError } from '../../core/errors.js';
import { withCancellableConnection } from './postgres-cancellable-connection.js';

/**
 * Runs `work` on one pooled connection between `begin` (BEGIN, with any options or set-up
 * statements after it) and COMMIT, rolling back if anything throws. A connection that cannot
 * even roll back is discarded rather than returned to the pool. Aborting `signal`, before or
 * while the transaction waits for a connection or runs, cancels it: the statement in flight is
 * cancelled, the transaction rolled back and the abort reason thrown.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  begin: string,
  work: (client: pg.PoolClient) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  return withCancellableConnection(pool, signal, async (client, discard) => {
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error: unknown) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        discard(toError(rollbackError));
      });
      throw error;
    }
  });
}
