import type { EventEmitter } from 'node:events';
import type { RunEventMap, RunEvents } from '../run-events.js';
import { boundedLabel } from './bounded-label.js';
import type { PipelineMetrics } from './pipeline-metrics.js';

/** Every event is listed, so a new one fails to compile here until telemetry decides on it. */
type Listeners = { [K in keyof RunEventMap]: (...args: RunEventMap[K]) => void };

/**
 * Keeps `metrics` up to date from the runner's lifecycle events, the only way telemetry learns
 * anything: the runner never calls it. Returns the function that unsubscribes.
 *
 * `now` is the wall clock (epoch ms) for the last-success timestamp.
 */
export function recordRunEvents(
  events: RunEvents,
  metrics: PipelineMetrics,
  now: () => number = Date.now,
): () => void {
  const listeners: Listeners = {
    'run:start': ({ run }) => {
      metrics.activeJobs.inc({ job_name: run.jobName });
      // The row's first heartbeat is its start, so the gauge is set before the first interval.
      metrics.heartbeat.set({ job_name: run.jobName }, run.heartbeatAt / 1000);
    },
    'run:heartbeat': ({ run, at }) => {
      metrics.heartbeat.set({ job_name: run.jobName }, at / 1000);
    },
    'run:progress': () => {},
    'run:end': ({ run, status, durationMs }) => {
      const job_name = run.jobName;
      metrics.jobRuns.inc({ job_name, status });
      metrics.activeJobs.dec({ job_name });
      metrics.jobDuration.observe({ job_name, mode: run.mode }, durationMs / 1000);
      // A gauge, not the failure counter: a process runs a job many times (the service), and
      // the counter keeps a failure after the job's next run succeeded (MdpJobFailed reads this).
      metrics.lastRunFailed.set({ job_name }, status === 'failure' ? 1 : 0);
      // A dry run stores nothing, so it must not hold off the "no recent success" alert.
      if (status === 'success' && !run.dryRun) metrics.lastSuccess.set({ job_name }, now() / 1000);
    },
    'batch:written': ({ jobName, provider, storage, rows, durationMs }) => {
      metrics.rowsWritten.inc({ job_name: jobName, provider }, rows);
      // A write that only records rejects or a checkpoint holds no bars: it is not a batch
      // (job_runs.batches agrees), but its latency is a write's latency all the same.
      if (rows > 0) metrics.batches.inc({ job_name: jobName, provider });
      metrics.batchWriteDuration.observe({ storage }, durationMs / 1000);
    },
    'storage:error': ({ storage, kind }) => {
      metrics.storageErrors.inc({ storage, kind: boundedLabel(kind) });
    },
    'provider:request': ({ provider, status, durationMs }) => {
      metrics.providerRequests.inc({ provider, status });
      metrics.providerRequestDuration.observe({ provider }, durationMs / 1000);
      if (status === 'rate_limited') metrics.rateLimitViolations.inc({ provider });
    },
    'provider:retry': () => {},
    'provider:paced': ({ provider, waitMs }) => {
      metrics.pacingWait.inc({ provider }, waitMs / 1000);
    },
    'bars:rejected': ({ provider, reason, count }) => {
      metrics.barsRejected.inc({ provider, reason: boundedLabel(reason) }, count);
    },
    'spool:depth': ({ jobName, bars }) => {
      metrics.spoolBars.set({ job_name: jobName }, bars);
    },
    'chunk:incomplete': ({ jobName, provider }) => {
      metrics.incompleteChunks.inc({ job_name: jobName, provider });
    },
  };
  const names = Object.keys(listeners) as (keyof RunEventMap)[];
  // `Listeners` has checked each pair; the untyped view lets one loop subscribe them all.
  const emitter: EventEmitter = events;
  for (const name of names) emitter.on(name, listeners[name]);
  return () => {
    for (const name of names) emitter.off(name, listeners[name]);
  };
}
