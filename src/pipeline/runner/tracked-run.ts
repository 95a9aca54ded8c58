import { randomUUID } from 'node:crypto';
import type { RetryConfig } from '../../core/config/config-schema.js';
import { describeDuration } from '../../core/duration.js';
import { CancelledError, JobSupersededError, StoreError, toError } from '../../core/errors.js';
import { backoffDelayMs } from '../policies/retry-policy.js';
import type { JobRun, RunStart, Store } from '../../store/store.js';
import type { Timing } from '../timing.js';
import type { RunEndEvent, RunEvents } from '../run-events.js';
import { startHeartbeatLoop } from './heartbeat-loop.js';
import type { RunTotalsCounter } from './run-totals-counter.js';

export interface TrackedRunOptions {
  readonly store: Store;
  readonly start: RunStart;
  readonly events: RunEvents;
  readonly totals: RunTotalsCounter;
  readonly timing: Timing;
  /** Cancels the run; its abort reason is what the run reports. */
  readonly signal: AbortSignal;
  /**
   * Part of `signal`: aborted with JobSupersededError when a heartbeat finds the run judged
   * abandoned (its job may be another run's now), so the run stops instead of writing on.
   */
  readonly lease?: AbortController;
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
 * (error recorded, then rethrown) or cancelled (when `signal` was aborted). A run that another
 * process judged abandoned (frozen past three heartbeats) ends as a failure with
 * JobSupersededError: its heartbeat aborts `lease`, the store refuses its batches, and recording
 * its end (conditional on the row still being `running`) refuses it too.
 */
export async function trackedRun<T>(
  options: TrackedRunOptions,
  body: (run: JobRun) => Promise<T>,
): Promise<{ run: JobRun; result: T; end: RunEndEvent }> {
  const { store, events, totals, timing, signal } = options;
  // One token for every try: a retry after a commit whose acknowledgement was lost adopts its row.
  const start = { ...options.start, runToken: options.start.runToken ?? randomUUID() };
  const run = await withStorageRetry(
    options,
    () => store.startRun(start),
    (failure) => `could not record the start of the run (${failure.message}); retrying`,
  );
  const started = timing.monotonic();
  events.emit('run:start', { run });
  const heartbeats = startHeartbeatLoop(
    () =>
      store
        .heartbeat(run.runId, totals.snapshot())
        .then(() => {
          events.emit('run:heartbeat', { run, at: timing.now() });
          events.emit('run:progress', { run, totals: totals.snapshot() });
        })
        .catch((error: unknown) => {
          if (!(error instanceof JobSupersededError)) {
            options.onTrackingError(toError(error));
            return;
          }
          void heartbeats.stop();
          options.lease?.abort(error);
        }),
    options.start.heartbeatIntervalMs,
    timing,
    (tookMs) => options.onTrackingError(slowHeartbeat(run.runId, tookMs, options.start)),
  );

  const finish = async (status: RunEndEvent['status'], error?: Error): Promise<RunEndEvent> => {
    await heartbeats.stop();
    const end: RunEndEvent = {
      run,
      status,
      totals: totals.snapshot(),
      durationMs: timing.monotonic() - started,
      ...(error ? { error } : {}),
    };
    let reported = end;
    try {
      await completeWithRetry(options, run.runId, status, end, error);
    } catch (thrown: unknown) {
      // Judged abandoned before its end was recorded: whatever it did, the run lost its job.
      if (thrown instanceof JobSupersededError) {
        options.lease?.abort(thrown);
        reported = { ...end, status: 'failure', error: thrown };
      }
      throw thrown;
    } finally {
      // The run has ended even when recording it failed (the database may be down): telemetry and
      // the summary still hear of it.
      events.emit('run:end', reported);
    }
    return end;
  };

  let result: T;
  try {
    result = await body(run);
  } catch (thrown: unknown) {
    const aborted = signal.aborted
      ? toError(signal.reason ?? new CancelledError('cancelled', { kind: 'operator' }))
      : undefined;
    const error = aborted ?? toError(thrown);
    // A refused batch stops whatever else of the run is still going, as a heartbeat would.
    if (error instanceof JobSupersededError) options.lease?.abort(error);
    const status = aborted && !(error instanceof JobSupersededError) ? 'cancelled' : 'failure';
    // The run's own error matters more than a failure to record it (the database may be the
    // cause), but not more than having lost its job: a superseded run says so (exit 1).
    const superseded = await finish(status, error).then(
      () => undefined,
      (trackingError: unknown) => {
        if (!(trackingError instanceof JobSupersededError)) {
          options.onTrackingError(toError(trackingError));
          return undefined;
        }
        if (error instanceof JobSupersededError) return error;
        options.onTrackingError(
          new Error(`run ${run.runId} ended with: ${error.message}`, { cause: error }),
        );
        return trackingError;
      },
    );
    throw superseded ?? error;
  }
  if (signal.aborted) {
    const stopped = toError(signal.reason);
    await finish(stopped instanceof JobSupersededError ? 'failure' : 'cancelled', stopped);
    throw stopped;
  }
  // Conditional on the row still being `running`: a run judged abandoned since its last
  // heartbeat gets JobSupersededError here and never reports success.
  return { run, result, end: await finish('success') };
}

/** The warning for a heartbeat slower than the run's interval: what it risks, and why it may be. */
function slowHeartbeat(runId: number, tookMs: number, start: RunStart): Error {
  return new Error(
    `the heartbeat of run ${runId} took ${describeDuration(tookMs)}, longer than ` +
      `execution.heartbeat_interval (${describeDuration(start.heartbeatIntervalMs)}): job_runs ` +
      `may be locked by another session (CREATE INDEX, LOCK TABLE) or the database overloaded; ` +
      `after 3 missed heartbeats another process judges the run abandoned`,
  );
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
