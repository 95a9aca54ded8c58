/**
 * Runs turns one at a time in arrival order. A turn whose signal aborts rejects at once, without
 * waiting for the turns queued before it to leave: a bucket is shared across jobs, and a
 * cancelled run must not wait out another's pacing.
 */
export class ArrivalQueue {
  private tail: Promise<void> = Promise.resolve();

  /** Queues `work` behind every earlier turn; its result, or the signal's reason once aborted. */
  turn(work: () => Promise<void>, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const turn = this.tail.then(work);
    this.tail = turn.catch(() => undefined);
    if (!signal) return turn;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      turn.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }
}
