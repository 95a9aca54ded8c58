import type { RetryConfig } from '../../core/config/config-schema.js';
import { CancelledError, StoreError, toError } from '../../core/errors.js';
import { backoffDelayMs } from '../policies/retry-policy.js';
import type { JobRun, RunStart, Store } from '../../store/store.js';
import type { Timing } from '../timing.js';
import type { RunEndEvent, RunEvents } from '../run-events.js';
import type { RunTotalsCounter } from './run-totals-counter.js';

export interface TrackedRunOptions {
  readonly store: Store;
  readonly start: RunStart;
  readonly events: RunEvents;
  readonly totals: RunTotalsCounter;
  readonly timing: Timing;
  /** Cancels the run; its abort reason is what the run reports. */
  readonly signal: AbortSignal;
  /** Heartbeat (or final bookkeeping after a failure) errors are logged: the run decides its outcome. */
  readonly onTrackingError: (error: Error) => void;
  /**
   * `storage.primary.write.retry`, for recording the run's start and end: a database that is
   * briefly locked by another process or away (often the very reason the run failed) still gets
   * the row when it is back within budget.
   */
  readonly storageRetry?: RetryConfig;
  readonly random?: () => number;
}

/**
 * Wraps a job in its `job_runs` lifecycle: start → heartbeats with progress → success, failure
 * (error recorded, then rethrown) or cancelled (when `signal` was aborted).
 */
export async function trackedRun<T>(
  options: TrackedRunOptions,
  body: (run: JobRun) => Promise<T>,
): Promise<{ run: JobRun; result: T; end: RunEndEvent }> {
  const { store, events, totals, timing, signal } = options;
  const run = await withStorageRetry(
    options,
    () => store.startRun(options.start),
    (failure) => `could not record the start of the run (${failure.message}); retrying`,
  );
  const started = timing.monotonic();
  events.emit('run:start', { run });
  let beating = Promise.resolve();
  const timer = setInterval(() => {
    beating = store
      .heartbeat(run.runId, totals.snapshot())
      .then((alive) => {
        if (alive) events.emit('run:heartbeat', { run, at: timing.now() });
        else {
          options.onTrackingError(
            new Error(
              `run ${run.runId} is no longer marked running (another process judged it abandoned); its row will not be updated`,
            ),
          );
        }
        events.emit('run:progress', { run, totals: totals.snapshot() });
      })
      .catch((error: unknown) => options.onTrackingError(toError(error)));
  }, options.start.heartbeatIntervalMs);
  timer.unref();

  const finish = async (status: RunEndEvent['status'], error?: Error): Promise<RunEndEvent> => {
    clearInterval(timer);
    await beating;
    const end: RunEndEvent = {
      run,
      status,
      totals: totals.snapshot(),
      durationMs: timing.monotonic() - started,
      ...(error ? { error } : {}),
    };
    try {
      await completeWithRetry(options, run.runId, status, end, error);
    } finally {
      // The run has ended even when recording it failed (the database may be down): telemetry and
      // the summary still hear of it.
      events.emit('run:end', end);
    }
    return end;
  };

  let result: T;
  try {
    result = await body(run);
  } catch (thrown: unknown) {
    const cancelled = signal.aborted;
    const error = cancelled
      ? toError(signal.reason ?? new CancelledError('cancelled'))
      : toError(thrown);
    // The run's own error matters more than a failure to record it (the database may be the cause).
    await finish(cancelled ? 'cancelled' : 'failure', error).catch((trackingError: unknown) =>
      options.onTrackingError(toError(trackingError)),
    );
    throw error;
  }
  if (signal.aborted) {
    const error = toError(signal.reason);
    await finish('cancelled', error);
    throw error;
  }
  return { run, result, end: await finish('success') };
}

/**
 * Records the run's end, retrying transient storage errors under the storage retry policy. Not
 * cancellable: it runs after a cancel, and a second signal ends the process anyway. When the
 * database stays away, the row is left `running` for the next run to mark abandoned.
 */
function completeWithRetry(
  options: TrackedRunOptions,
  runId: number,
  status: RunEndEvent['status'],
  end: RunEndEvent,
  error: Error | undefined,
): Promise<void> {
  return withStorageRetry(
    options,
    () => options.store.completeRun(runId, status, end.totals, error?.message),
    (failure) => `could not record the end of run ${runId} (${failure.message}); retrying`,
  );
}

/**
 * `operation` again after a transient StoreError (a lock held by another process, a dropped
 * connection), under the storage retry policy; each retry is reported as a tracking error.
 */
async function withStorageRetry<T>(
  options: TrackedRunOptions,
  operation: () => Promise<T>,
  describe: (failure: Error) => string,
): Promise<T> {
  const retry = options.storageRetry;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (thrown: unknown) {
      const failure = toError(thrown);
      const transient = failure instanceof StoreError && failure.transient;
      if (retry === undefined || !transient || attempt >= retry.max_attempts) throw failure;
      options.onTrackingError(new Error(describe(failure), { cause: failure }));
      await options.timing.sleep(backoffDelayMs(attempt, retry, options.random ?? Math.random));
    }
  }
}
