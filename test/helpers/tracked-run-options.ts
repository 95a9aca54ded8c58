import { RunEvents, type RunEndEvent } from '../../src/pipeline/run-events.js';
import { RunTotalsCounter } from '../../src/pipeline/runner/run-totals-counter.js';
import type { TrackedRunOptions } from '../../src/pipeline/runner/tracked-run.js';
import { systemTiming } from '../../src/pipeline/timing.js';
import type { RunStart, Store } from '../../src/store/store.js';

/** A backfill run of `job` started by this process, for tests that drive trackedRun directly. */
export const TEST_RUN_START: RunStart = {
  jobName: 'job',
  mode: 'backfill',
  profile: null,
  dryRun: false,
  host: 'h',
  pid: process.pid,
  configHash: 'x',
  params: {},
  heartbeatIntervalMs: 60_000,
};

/**
 * trackedRun options on `store` with real timing and a fast storage retry, and what the run
 * reports: tracking errors (messages) and run:end events.
 */
export function trackedRunOptions(
  store: Store,
  overrides: Partial<TrackedRunOptions> = {},
): { tracked: TrackedRunOptions; trackingErrors: string[]; ends: RunEndEvent[] } {
  const trackingErrors: string[] = [];
  const ends: RunEndEvent[] = [];
  const events = new RunEvents();
  events.on('run:end', (end) => ends.push(end));
  const tracked: TrackedRunOptions = {
    store,
    start: TEST_RUN_START,
    events,
    totals: new RunTotalsCounter(),
    timing: systemTiming,
    signal: new AbortController().signal,
    onTrackingError: (error) => trackingErrors.push(error.message),
    storageRetry: {
      max_attempts: 3,
      backoff_seconds: 0.001,
      max_backoff_seconds: 0.001,
      jitter: 'none',
    },
    ...overrides,
  };
  return { tracked, trackingErrors, ends };
}
