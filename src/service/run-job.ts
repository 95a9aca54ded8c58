import type { RunEvents } from '../pipeline/run-events.js';
import type { RunOptions, RunSummary } from '../pipeline/runner/job-runner.js';
import type { Store } from '../store/store.js';
import type { ProcessRuntime } from './process-runtime.js';
import type { ProcessTelemetry } from './process-telemetry.js';

/** What a run is composed of; the store is open, and stays open after the run. */
export interface RunJobDeps {
  readonly runtime: ProcessRuntime;
  readonly store: Store;
  readonly telemetry: ProcessTelemetry;
  /** The run's own events: the caller listens for its lifecycle (e.g. the summary line). */
  readonly events: RunEvents;
  /** Start serving /metrics when the run starts (one-shot commands); a service serves from its own start. */
  readonly serveOnStart?: boolean;
}

/** One run's options: the runner's, without the signal, which is passed on its own. */
export type RunJobOptions = Omit<RunOptions, 'signal'>;

/**
 * The order of one run, the same for `mdp run`/`mdp backfill` and for the service: the run's events
 * move the process's telemetry, a live run gets the spool, a runner of the runtime's current
 * config generation runs the job, then the spool is closed and telemetry detached whatever
 * happened. Resolves with the run's summary; rejects with its error (already recorded), a
 * CancelledError when `signal` stopped it.
 */
export async function runJob(
  deps: RunJobDeps,
  options: RunJobOptions,
  signal: AbortSignal,
): Promise<RunSummary> {
  const { runtime, store, events } = deps;
  const detach = await deps.telemetry.attachRun(
    { events, store, jobName: options.jobName, config: runtime.config },
    { serveOnStart: deps.serveOnStart },
  );
  try {
    const spool = options.mode === 'live' ? runtime.createSpool() : undefined;
    try {
      return await runtime.runner({ store, events, spool }).run({ ...options, signal });
    } finally {
      await spool?.close();
    }
  } finally {
    detach();
  }
}
