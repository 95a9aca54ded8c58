import type { Logger } from 'pino';
import type { MdpConfig } from '../core/config/load-config.js';
import { MdpError, toError } from '../core/errors.js';
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

  constructor(private readonly options: ProcessTelemetryOptions) {
    const { config, logger } = options;
    const settings = config.telemetry.metrics;
    if (!settings.enabled) {
      if (options.metricsPort !== undefined) {
        logger.warn('--metrics-port is ignored: telemetry.metrics.enabled is false in the config');
      }
      return;
    }
    this.metrics = new PipelineMetrics({
      jobs: configuredJobs(config),
      providers: Object.keys(config.providers).filter((name) => config.providers[name]?.enabled),
      storages: options.storages,
    });
    this.server = new MetricsServer({
      source: this.metrics,
      host: settings.host,
      port: options.metricsPort ?? settings.port,
      liveness: this.liveness,
    });
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
    await this.seedLastSuccess(metrics, target.store, target.jobName);
    const stopRecording = recordRunEvents(target.events, metrics);
    const onStart = (): void => void this.serve();
    if (options.serveOnStart) target.events.once('run:start', onStart);
    return () => {
      target.events.off('run:start', onStart);
      stopRecording();
    };
  }

  /**
   * Stops serving (in-flight scrapes get their deadline) and, with `pushAs`, pushes the final
   * values under that Pushgateway job when the process served (ran something). Never throws.
   */
  async close(options: { pushAs?: string } = {}): Promise<void> {
    await this.serving;
    await this.server?.stop();
    const url = this.options.config.telemetry.metrics.pushgateway_url;
    // Without a run there is nothing to report, and a push would wipe the last run's group.
    if (this.metrics && this.served && url && options.pushAs !== undefined) {
      await pushMetrics(this.metrics.registry, { url, jobName: options.pushAs }).catch(
        (error: unknown) => warn(this.options.logger, error, 'the run itself is unaffected'),
      );
    }
  }

  /**
   * Starts the last-success gauge from job_runs, so it is right from the first scrape of a fresh
   * process, and a push after a failed run still carries the last success.
   */
  private async seedLastSuccess(
    metrics: PipelineMetrics,
    store: Store,
    jobName: string,
  ): Promise<void> {
    try {
      const runs = await store.listRuns({ jobName, limit: LAST_SUCCESS_LOOKBACK_RUNS });
      const last = runs.find((run) => run.status === 'success' && !run.dryRun);
      if (last?.completedAt != null) metrics.seedLastSuccess(jobName, last.completedAt);
    } catch (error: unknown) {
      warn(
        this.options.logger,
        error,
        'pipeline_job_last_success_timestamp_seconds waits for the next success',
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

function warn(logger: Logger, thrown: unknown, consequence: string): void {
  const error = toError(thrown);
  const code = error instanceof MdpError ? error.code : undefined;
  logger.warn({ code }, `${error.message}; ${consequence}`);
}
