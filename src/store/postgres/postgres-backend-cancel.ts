import pg from 'pg';

/** The server process behind a connection: node-postgres records it at login, untyped. */
function backendPid(client: pg.PoolClient): number | undefined {
  const pid = (client as unknown as { processID?: unknown }).processID;
  return typeof pid === 'number' ? pid : undefined;
}

/**
 * While a pooled connection works for a caller that may give up, aborting `signal` (or its
 * having been aborted already) asks the server to cancel the connection's statement in flight
 * (`pg_cancel_backend`), so a statement waiting on another session's lock ends now rather than at
 * `lock_timeout`. The request goes over a connection of its own: the pool may be taken up by
 * statements waiting on that same lock.
 */
export class BackendCancel {
  private request: Promise<void> | undefined;
  private readonly onAbort = (): void => {
    this.request = this.cancel();
  };

  constructor(
    private readonly pool: pg.Pool,
    private readonly client: pg.PoolClient,
    private readonly signal: AbortSignal,
  ) {
    // An 'abort' event is dispatched once: a signal aborted before now cancels at once.
    if (signal.aborted) this.onAbort();
    else signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /**
   * Stops listening, waits for a cancel under way, and says whether one was asked for: such a
   * connection must not go back to the pool, where a late cancel could hit its next statement.
   */
  async stop(): Promise<boolean> {
    this.signal.removeEventListener('abort', this.onAbort);
    if (this.request === undefined) return false;
    await this.request;
    return true;
  }

  private async cancel(): Promise<void> {
    const pid = backendPid(this.client);
    if (pid === undefined) return;
    const canceller = new pg.Client(this.pool.options);
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch {
      // Nothing to add: the statement still ends at statement_timeout or lock_timeout, and its
      // connection is discarded either way.
    } finally {
      await canceller.end().catch(() => undefined);
    }
  }
}
