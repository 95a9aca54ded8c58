import type { Logger } from 'pino';
import type { MdpConfig } from '../core/config/load-config.js';
import { errorCode, toError } from '../core/errors.js';
import type { RunEvents } from '../pipeline/run-events.js';
import { LivenessChecks } from '../pipeline/telemetry/liveness-checks.js';
import { MetricsServer } from '../pipeline/telemetry/metrics-server.js';
import { PipelineMetrics, type MetricsJob } from '../pipeline/telemetry/pipeline-metrics.js';
import { pushMetrics } from '../pipeline/telemetry/push-metrics.js';
import { recordRunEvents } from '../pipeline/telemetry/record-run-events.js';
import type { Store } from '../store/store.js';

export interface ProcessTelemetryOptions {
  readonly config: MdpConfig;
  readonly logger: Logger;
  /** Storage kinds whose write-latency series exist from the first scrape. */
  readonly storages: readonly Store['kind'][];
  /** `--metrics-port`, overriding `telemetry.metrics.port`. */
  readonly metricsPort?: number;
}

/** What a run attaches to the process's telemetry for its duration. */
export interface RunTelemetryTarget {
  readonly events: RunEvents;
  /** Open: the job's last success is read from it. */
  readonly store: Store;
  readonly jobName: string;
  /**
   * The config the run is composed from: its job's and provider's series are pre-set at 0 before
   * it starts, even when a reload added them and `reconfigure` has not been told.
   */
  readonly config: MdpConfig;
}

/** How far back in job_runs the last success is looked for. */
const LAST_SUCCESS_LOOKBACK_RUNS = 100;

/**
 * The metrics of a whole process: one registry that every run's events move, one server for
 * `/metrics` and `/healthz` on `telemetry.metrics.host:port`, the liveness checks /healthz reports
 * and the push to `telemetry.metrics.pushgateway_url`. With metrics disabled nothing is recorded,
 * nothing listens and nothing is pushed. Telemetry never fails a job: its errors are logged.
 */
export class ProcessTelemetry {
  /** Undefined when `telemetry.metrics.enabled` is false. */
  readonly metrics: PipelineMetrics | undefined;
  readonly liveness = new LivenessChecks();
  private readonly server: MetricsServer | undefined;
  private serving: Promise<string | undefined> | undefined;
  /** The config whose jobs and providers have series (the constructor's, then each reload's). */
  private config: MdpConfig;
  /** Runs attached and not yet detached, by job name. */
  private readonly attached = new Map<string, number>();
  /** Jobs a reload removed while a run of theirs was attached: their series go at its detach. */
  private readonly removedWhileRunning = new Set<string>();

  constructor(private readonly options: ProcessTelemetryOptions) {
    const { config, logger } = options;
    this.config = config;
    const settings = config.telemetry.metrics;
    if (!settings.enabled) {
      if (options.metricsPort !== undefined) {
        logger.warn('--metrics-port is ignored: telemetry.metrics.enabled is false in the config');
      }
      return;
    }
    this.metrics = new PipelineMetrics({
      jobs: configuredJobs(config),
      providers: enabledProviders(config),
      storages: options.storages,
    });
    this.server = new MetricsServer({
      source: this.metrics,
      host: settings.host,
      port: options.metricsPort ?? settings.port,
      liveness: this.liveness,
    });
  }

  /**
   * Follows a reloaded config: the series of jobs and providers it adds exist at 0 from the next
   * scrape (increase() cannot see a counter's first step from absent), and a job it removes loses
   * its series, so no alert (MdpJobNoRecentSuccess on its last success) speaks of a job that no
   * longer exists. A removed provider's counters stay: they only record what was asked of it.
   * Where metrics are served and whether they are on is settled at the process's start.
   */
  reconfigure(config: MdpConfig): void {
    const previous = this.config;
    this.config = config;
    if (!sameServing(previous, config)) {
      this.options.logger.warn(
        'telemetry.metrics.enabled, host and port changed in the config: they apply when the process restarts',
      );
    }
    const { metrics } = this;
    if (!metrics) return;
    for (const name of Object.keys(previous.jobs)) {
      // A run still in progress ends later and would bring back a part of the series (its active
      // gauge at -1): its job's series go when its last run detaches.
      if (config.jobs[name] === undefined) {
        if (this.attached.has(name)) this.removedWhileRunning.add(name);
        else metrics.removeJob(name);
      }
    }
    for (const name of Object.keys(config.jobs)) this.removedWhileRunning.delete(name);
    for (const job of configuredJobs(config)) metrics.addJob(job);
    for (const provider of enabledProviders(config)) metrics.addProvider(provider);
  }

  /** Whether `serve()` was called: a one-shot command that never started a run pushes nothing. */
  get served(): boolean {
    return this.serving !== undefined;
  }

  /**
   * Starts serving (once); resolves with the URL of /metrics, or undefined when metrics are
   * disabled or the port cannot be bound (logged: the process goes on without).
   */
  serve(): Promise<string | undefined> {
    if (!this.server) return Promise.resolve(undefined);
    const { logger } = this.options;
    this.serving ??= this.server.start().then(
      (url) => {
        logger.info({ url }, 'serving metrics');
        return url;
      },
      (error: unknown) => {
        warn(logger, error, 'the job goes on without /metrics');
        return undefined;
      },
    );
    return this.serving;
  }

  /**
   * Moves the registry with one run's events until the returned function is called; the job's
   * last-success gauge is seeded from the store first. With `serveOnStart`, the server starts when
   * the run does (a one-shot command that fails before its run binds nothing).
   */
  async attachRun(
    target: RunTelemetryTarget,
    options: { serveOnStart?: boolean } = {},
  ): Promise<() => void> {
    const { metrics } = this;
    if (!metrics) return () => {};
    const job = configuredJobs(target.config).find((j) => j.name === target.jobName);
    if (job) {
      metrics.addJob(job);
      metrics.addProvider(job.provider);
    }
    await this.seedFromRuns(metrics, target.store, target.jobName);
    const stopRecording = recordRunEvents(target.events, metrics);
    const onStart = (): void => void this.serve();
    if (options.serveOnStart) target.events.once('run:start', onStart);
    const { jobName } = target;
    this.attached.set(jobName, (this.attached.get(jobName) ?? 0) + 1);
    let detached = false;
    return () => {
      if (detached) return;
      detached = true;
      target.events.off('run:start', onStart);
      stopRecording();
      const left = (this.attached.get(jobName) ?? 1) - 1;
      if (left > 0) return void this.attached.set(jobName, left);
      this.attached.delete(jobName);
      if (this.removedWhileRunning.delete(jobName)) metrics.removeJob(jobName);
    };
  }

  /**
   * Starts each job's last-success and last-run gauges from job_runs (a pure read): a service
   * calls it before it serves and for the jobs a reload adds, so a failure recorded before a
   * restart keeps MdpJobFailed firing until a run of the job ends otherwise, not until its first
   * tick. Never throws: a store error is logged and the gauges wait for the job's next run.
   */
  async seedJobs(store: Store, jobNames: readonly string[]): Promise<void> {
    const { metrics } = this;
    if (!metrics) return;
    await Promise.all(jobNames.map((jobName) => this.seedFromRuns(metrics, store, jobName)));
  }

  /**
   * Stops serving (in-flight scrapes get their deadline) and, with `pushAs`, pushes the final
   * values under that Pushgateway job when the process served (ran something). Never throws.
   */
  async close(options: { pushAs?: string } = {}): Promise<void> {
    await this.serving;
    await this.server?.stop();
    const url = this.config.telemetry.metrics.pushgateway_url;
    // Without a run there is nothing to report, and a push would wipe the last run's group.
    if (this.metrics && this.served && url && options.pushAs !== undefined) {
      await pushMetrics(this.metrics.registry, { url, jobName: options.pushAs }).catch(
        (error: unknown) => warn(this.options.logger, error, 'the run itself is unaffected'),
      );
    }
  }

  /**
   * Starts the last-success and last-run gauges from job_runs, so they are right from the first
   * scrape of a fresh process (a failure before a restart keeps MdpJobFailed firing), and a push
   * after a failed run still carries the last success.
   */
  private async seedFromRuns(
    metrics: PipelineMetrics,
    store: Store,
    jobName: string,
  ): Promise<void> {
    try {
      const runs = await store.listRuns({ jobName, limit: LAST_SUCCESS_LOOKBACK_RUNS });
      const ended = runs.find((run) => run.status !== 'running');
      if (ended) metrics.seedLastRunFailed(jobName, ended.status === 'failure');
      const last = runs.find((run) => run.status === 'success' && !run.dryRun);
      if (last?.completedAt != null) metrics.seedLastSuccess(jobName, last.completedAt);
    } catch (error: unknown) {
      warn(
        this.options.logger,
        error,
        'pipeline_job_last_success_timestamp_seconds and pipeline_job_last_run_failed wait for the next run',
      );
    }
  }
}

/** Each configured job with its mode and its dataset's provider, to pre-set its series at 0. */
function configuredJobs(config: MdpConfig): MetricsJob[] {
  return Object.entries(config.jobs).map(([name, job]) => ({
    name,
    mode: job.mode,
    provider: config.datasets[job.dataset]?.provider ?? '',
  }));
}

function enabledProviders(config: MdpConfig): string[] {
  return Object.keys(config.providers).filter((name) => config.providers[name]?.enabled);
}

/** Whether two configs serve metrics alike (what a reload cannot change in a running process). */
function sameServing(a: MdpConfig, b: MdpConfig): boolean {
  const [x, y] = [a.telemetry.metrics, b.telemetry.metrics];
  return x.enabled === y.enabled && x.host === y.host && x.port === y.port;
}

function warn(logger: Logger, thrown: unknown, consequence: string): void {
  const error = toError(thrown);
  const code = errorCode(error);
  logger.warn({ code }, `${error.message}; ${consequence}`);
}
