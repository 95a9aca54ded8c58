/**
 * Node's longest timer (2^31-1 ms, about 24.8 days). A longer delay does not wait longer: Node
 * warns (TimeoutOverflowWarning) and fires after 1 ms, which turns a long wait into a busy loop.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * setTimeout for any delay: one past MAX_TIMER_MS is waited out as a chain of timers, so no timer
 * is ever set beyond Node's limit. Returns the function that cancels it.
 */
export function setLongTimeout(callback: () => void, ms: number): () => void {
  if (Number.isNaN(ms))
    throw new RangeError('a timer delay must be a number of milliseconds, got NaN');
  let timer: ReturnType<typeof setTimeout>;
  const arm = (left: number): void => {
    timer =
      left > MAX_TIMER_MS
        ? setTimeout(() => arm(left - MAX_TIMER_MS), MAX_TIMER_MS)
        : setTimeout(callback, left);
  };
  arm(ms);
  return () => clearTimeout(timer);
}
