import { toError } from '../../core/errors.js';

/**
 * Runs `worker` over `items` with at most `concurrency` in flight. Stops taking new items once
 * `signal` is aborted or a worker fails; the first failure is rethrown after in-flight ones settle.
 */
export async function runPool<T>(
  items: Iterable<T>,
  concurrency: number,
  worker: (item: T) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!failure && !signal.aborted) {
      try {
        // Inside the try: a throwing source must also wait for the in-flight workers.
        const next = iterator.next();
        if (next.done) return;
        await worker(next.value);
      } catch (error: unknown) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  if (failure) throw toError(failure.error);
  signal.throwIfAborted();
}
