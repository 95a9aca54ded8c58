import type pg from 'pg';
import { toError } from '../../core/errors.js';
import { BackendCancel } from './postgres-backend-cancel.js';

/**
 * A pooled connection for a caller that may give up: aborting `signal` while the pool has none
 * free (every connection waiting on the same lock) rejects at once with the abort reason, and a
 * connection handed over after that goes straight back to the pool.
 */
export async function connectUnlessAborted(
  pool: pg.Pool,
  signal: AbortSignal | undefined,
): Promise<pg.PoolClient> {
  signal?.throwIfAborted();
  const connecting = pool.connect();
  if (signal === undefined) return connecting;
  return new Promise<pg.PoolClient>((resolve, reject) => {
    const onAbort = (): void => reject(toError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    connecting.then(
      (client) => {
        signal.removeEventListener('abort', onAbort);
        if (!signal.aborted) return resolve(client);
        client.release();
        reject(toError(signal.reason));
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(toError(error));
      },
    );
  });
}

/**
 * Runs `work` on one pooled connection, released afterwards. Aborting `signal` gives up on a
 * connection still awaited and cancels the statement in flight (`pg_cancel_backend`); the abort
 * reason is then thrown rather than the server's "canceling statement due to user request". The
 * connection is discarded, not returned to the pool, when a cancel was sent (a late one could hit
 * its next statement) or when `work` calls `discard` (a connection in an unknown state).
 */
export async function withCancellableConnection<T>(
  pool: pg.Pool,
  signal: AbortSignal | undefined,
  work: (client: pg.PoolClient, discard: (error: Error) => void) => Promise<T>,
): Promise<T> {
  const client = await connectUnlessAborted(pool, signal);
  const cancel = signal === undefined ? undefined : new BackendCancel(pool, client, signal);
  let broken: Error | boolean | undefined;
  try {
    return await work(client, (error) => {
      broken = error;
    });
  } catch (error: unknown) {
    if (signal?.aborted) throw toError(signal.reason);
    throw error;
  } finally {
    if ((await cancel?.stop()) === true) broken ??= true;
    client.release(broken);
  }
}

/** One statement, cancelled (and its abort reason thrown) when `signal` aborts, as above. */
export async function cancellableQuery<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  sql: string,
  params: readonly unknown[],
  signal: AbortSignal | undefined,
): Promise<pg.QueryResult<R>> {
  if (signal === undefined) return pool.query<R>(sql, [...params]);
  return withCancellableConnection(pool, signal, (client) => client.query<R>(sql, [...params]));
}
