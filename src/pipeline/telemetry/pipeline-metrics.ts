import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunMode, Store } from '../../store/store.js';
import { REJECT_REASONS } from '../bar-validator.js';
import type { RequestOutcome } from '../policies/provider-call.js';
import type { RunEndEvent } from '../run-events.js';

/** The statuses a run of this process can end with (`abandoned` is set by whoever reaps it). */
export const RUN_END_STATUSES = [
  'success',
  'failure',
  'cancelled',
] as const satisfies readonly RunEndEvent['status'][];

/** Every outcome of a provider request. */
export const REQUEST_STATUSES = [
  'ok',
  'error',
  'rate_limited',
  'timeout',
] as const satisfies readonly RequestOutcome['status'][];

/** A configured job, as far as its series are concerned. */
export interface MetricsJob {
  readonly name: string;
  readonly mode: RunMode;
  /** The provider of the job's dataset. */
  readonly provider: string;
}

export interface PipelineMetricsOptions {
  /** Jobs whose series exist, at 0, from the first scrape. */
  readonly jobs?: readonly MetricsJob[];
  /** Providers whose series exist, at 0, from the first scrape. */
  readonly providers?: readonly string[];
  /** Storage kinds whose write-latency series exist from the first scrape. */
  readonly storages?: readonly Store['kind'][];
  /** Node's process metrics (CPU, memory, event loop, GC); default true. */
  readonly processMetrics?: boolean;
}

/** prom-client default metrics whose names break Prometheus conventions. */
const MISNAMED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

// Bucket bounds in seconds, chosen for what each operation takes in practice.
const JOB_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200];
const BATCH_WRITE_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const PROVIDER_REQUEST_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The pipeline's Prometheus series (DESIGN.md, Telemetry) in a registry of their own, never
 * prom-client's global one. Counters of the configured jobs and providers start at 0 so `rate()`
 * and `increase()` see the first event of a fresh process; `recordRunEvents` moves them.
 */
export class PipelineMetrics {
  readonly registry = new Registry();
  /** Each job's series were pre-set under these labels (a reload may change its mode or provider). */
  private readonly jobs = new Map<string, MetricsJob[]>();
  private readonly providers = new Set<string>();

  readonly jobRuns = new Counter({
    name: 'pipeline_job_runs_total',
    help: 'Runs that ended, by job and final status.',
    labelNames: ['job_name', 'status'] as const,
    registers: [this.registry],
  });
  readonly rowsWritten = new Counter({
    name: 'pipeline_rows_written_total',
    help: 'Bars upserted into storage.',
    labelNames: ['job_name', 'provider'] as const,
    registers: [this.registry],
  });
  readonly batches = new Counter({
    name: 'pipeline_batches_total',
    help: 'Batches of bars written, each one transaction.',
    labelNames: ['job_name', 'provider'] as const,
    registers: [this.registry],
  });
  readonly providerRequests = new Counter({
    name: 'pipeline_provider_requests_total',
    help: 'Provider requests by outcome (ok, error, rate_limited, timeout); retries count again.',
    labelNames: ['provider', 'status'] as const,
    registers: [this.registry],
  });
  readonly rateLimitViolations = new Counter({
    name: 'pipeline_provider_rate_limit_violations_total',
    help: 'Requests a provider answered with a rate-limit error (HTTP 429 or its equivalent).',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly pacingWait = new Counter({
    name: 'pipeline_provider_pacing_wait_seconds_total',
    help: "Time requests waited for their provider's pacing budget (its token bucket, or a 429 cooldown) before they went.",
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly activeJobs = new Gauge({
    name: 'pipeline_active_jobs',
    help: 'Runs in progress in this process.',
    labelNames: ['job_name'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'pipeline_job_duration_seconds',
    help: 'Wall time of a run, from start to its final status.',
    labelNames: ['job_name', 'mode'] as const,
    buckets: JOB_DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly batchWriteDuration = new Histogram({
    name: 'pipeline_batch_write_duration_seconds',
    help: 'Time to write one batch (one transaction).',
    labelNames: ['storage'] as const,
    buckets: BATCH_WRITE_BUCKETS,
    registers: [this.registry],
  });
  readonly providerRequestDuration = new Histogram({
    name: 'pipeline_provider_request_duration_seconds',
    help: 'Time of one provider request, whatever its outcome.',
    labelNames: ['provider'] as const,
    buckets: PROVIDER_REQUEST_BUCKETS,
    registers: [this.registry],
  });
  readonly storageErrors = new Counter({
    name: 'pipeline_storage_errors_total',
    help: 'Failed storage calls, by storage and error kind.',
    labelNames: ['storage', 'kind'] as const,
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: 'pipeline_job_last_success_timestamp_seconds',
    help: 'When the last successful (non-dry) run of the job ended, in Unix seconds.',
    labelNames: ['job_name'] as const,
    registers: [this.registry],
  });
  readonly lastRunFailed = new Gauge({
    name: 'pipeline_job_last_run_failed',
    help: "1 when the job's latest run ended in failure, 0 when it ended otherwise.",
    labelNames: ['job_name'] as const,
    registers: [this.registry],
  });
  readonly barsRejected = new Counter({
    name: 'pipeline_bars_rejected_total',
    help: 'Bars that failed validation and went to bars_rejected, by reason.',
    labelNames: ['provider', 'reason'] as const,
    registers: [this.registry],
  });
  readonly incompleteChunks = new Counter({
    name: 'pipeline_backfill_incomplete_chunks_total',
    help: 'Backfill chunks whose provider answer stayed short of the window, recorded incomplete.',
    labelNames: ['job_name', 'provider'] as const,
    registers: [this.registry],
  });
  readonly spoolBars = new Gauge({
    name: 'pipeline_spool_bars',
    help: 'Bars of the job held in the local spool, waiting for the primary storage to come back.',
    labelNames: ['job_name'] as const,
    registers: [this.registry],
  });
  readonly heartbeat = new Gauge({
    name: 'pipeline_job_heartbeat_timestamp_seconds',
    help: "The last heartbeat recorded in the running job's job_runs row, in Unix seconds.",
    labelNames: ['job_name'] as const,
    registers: [this.registry],
  });

  constructor(options: PipelineMetricsOptions = {}) {
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters fail `promtool check metrics`; each is the sum of the
      // per-type gauge of the same name without `_total`, which stays.
      for (const name of MISNAMED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
    for (const job of options.jobs ?? []) this.addJob(job);
    for (const provider of options.providers ?? []) this.addProvider(provider);
    for (const storage of options.storages ?? []) this.batchWriteDuration.zero({ storage });
  }

  /** The exposition text of every series. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of `render()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Sets a job's last success from an earlier process's record (job_runs), so the series is right
   * from the first scrape and a push after a failed run does not lose it.
   */
  seedLastSuccess(jobName: string, atMs: number): void {
    this.lastSuccess.set({ job_name: jobName }, atMs / 1000);
  }

  /** Sets whether a job's latest run failed from an earlier process's record (job_runs). */
  seedLastRunFailed(jobName: string, failed: boolean): void {
    this.lastRunFailed.set({ job_name: jobName }, failed ? 1 : 0);
  }

  /**
   * Pre-sets a job's series at 0. Idempotent, and safe for a job with series (a reload, a new
   * run): what is counted stays, only labels new to the job are added.
   */
  addJob(job: MetricsJob): void {
    const known = this.jobs.get(job.name) ?? [];
    if (known.some((k) => k.mode === job.mode && k.provider === job.provider)) return;
    this.jobs.set(job.name, [...known, job]);
    // The last-success and heartbeat gauges stay absent: a 0 would read as "in 1970".
    for (const status of RUN_END_STATUSES) this.jobRuns.inc({ job_name: job.name, status }, 0);
    const written = { job_name: job.name, provider: job.provider };
    this.rowsWritten.inc(written, 0);
    this.batches.inc(written, 0);
    // inc, not set: a run of the job may be in progress, or its last run known to have failed.
    this.activeJobs.inc({ job_name: job.name }, 0);
    this.lastRunFailed.inc({ job_name: job.name }, 0);
    // zero() resets a histogram: only for a mode the job had no series of.
    if (!known.some((k) => k.mode === job.mode)) {
      this.jobDuration.zero({ job_name: job.name, mode: job.mode });
    }
    // Only a backfill has chunks: a live job's series would stay 0 for ever.
    if (job.mode === 'backfill') this.incompleteChunks.inc(written, 0);
  }

  /**
   * Drops every series of a job gone from the config, so no alert speaks of it (its last success
   * ageing into MdpJobNoRecentSuccess) and no dashboard lists it.
   */
  removeJob(jobName: string): void {
    const job_name = jobName;
    for (const gauge of [this.activeJobs, this.lastSuccess, this.lastRunFailed, this.heartbeat]) {
      gauge.remove({ job_name });
    }
    this.spoolBars.remove({ job_name });
    for (const status of RUN_END_STATUSES) this.jobRuns.remove({ job_name, status });
    for (const { mode, provider } of this.jobs.get(jobName) ?? []) {
      const written = { job_name, provider };
      this.rowsWritten.remove(written);
      this.batches.remove(written);
      this.incompleteChunks.remove(written);
      this.jobDuration.remove({ job_name, mode });
    }
    this.jobs.delete(jobName);
  }

  /** Pre-sets a provider's series at 0; idempotent (what is counted stays). */
  addProvider(provider: string): void {
    if (this.providers.has(provider)) return;
    this.providers.add(provider);
    for (const status of REQUEST_STATUSES) this.providerRequests.inc({ provider, status }, 0);
    this.rateLimitViolations.inc({ provider }, 0);
    this.pacingWait.inc({ provider }, 0);
    this.providerRequestDuration.zero({ provider });
    for (const reason of REJECT_REASONS) this.barsRejected.inc({ provider, reason }, 0);
  }
}
