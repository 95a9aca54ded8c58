import { setLongTimeout } from './long-timeout.js';

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it is aborted. A wait longer than
 * Node's timer limit is honoured in full (see setLongTimeout), never cut to 1 ms.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      cancel();
      reject(signal?.reason as Error);
    };
    const cancel = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
