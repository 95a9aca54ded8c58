import type { Logger } from 'pino';
import type { MdpConfig } from '../core/config/load-config.js';
import { MdpError, toError } from '../core/errors.js';
import type { RunEvents } from '../pipeline/run-events.js';
import { MetricsServer } from '../pipeline/telemetry/metrics-server.js';
import { PipelineMetrics, type MetricsJob } from '../pipeline/telemetry/pipeline-metrics.js';
import { pushMetrics } from '../pipeline/telemetry/push-metrics.js';
import { recordRunEvents } from '../pipeline/telemetry/record-run-events.js';
import type { Store } from '../store/store.js';

/** The metrics of one `mdp run`/`mdp backfill` process. */
export interface RunTelemetry {
  /** Stops serving and pushes the final values; never throws, since telemetry never fails a job. */
  close(): Promise<void>;
}

export interface RunTelemetryOptions {
  readonly config: MdpConfig;
  /** Open: the last success is read from it, and its kind labels write latency. */
  readonly store: Store;
  readonly events: RunEvents;
  readonly logger: Logger;
  readonly jobName: string;
  /** `--metrics-port`, overriding `telemetry.metrics.port`. */
  readonly metricsPort?: number;
}

/** How far back in job_runs the last success is looked for. */
const LAST_SUCCESS_LOOKBACK_RUNS = 100;

/**
 * Wires telemetry around one run: the registry follows the run's events, `/metrics` is served on
 * `telemetry.metrics.host:port` from the run's start until `close()`, and `close()` pushes the
 * final values to `telemetry.metrics.pushgateway_url` when one is set. With metrics disabled
 * nothing is recorded and nothing listens.
 */
export async function startRunTelemetry(options: RunTelemetryOptions): Promise<RunTelemetry> {
  const { config, store, events, logger, jobName } = options;
  const settings = config.telemetry.metrics;
  if (!settings.enabled) {
    if (options.metricsPort !== undefined) {
      logger.warn('--metrics-port is ignored: telemetry.metrics.enabled is false in the config');
    }
    return { close: () => Promise.resolve() };
  }

  const metrics = new PipelineMetrics({
    jobs: configuredJobs(config),
    providers: Object.keys(config.providers).filter((name) => config.providers[name]?.enabled),
    storages: [store.kind],
  });
  await seedLastSuccess(metrics, store, jobName, logger);
  const stopRecording = recordRunEvents(events, metrics);
  const server = new MetricsServer({
    source: metrics,
    host: settings.host,
    port: options.metricsPort ?? settings.port,
  });

  // Served while a run is in progress: a command that fails before its run starts binds nothing.
  let serving: Promise<void> | undefined;
  const onStart = (): void => {
    serving = server.start().then(
      (url) => logger.info({ url }, 'serving metrics'),
      (error: unknown) => warn(logger, error, 'the job goes on without /metrics'),
    );
  };
  events.once('run:start', onStart);

  return {
    async close() {
      events.off('run:start', onStart);
      await serving;
      await server.stop();
      stopRecording();
      // Without a run there is nothing to report, and a push would wipe the last run's group.
      if (serving && settings.pushgateway_url) {
        await pushMetrics(metrics.registry, { url: settings.pushgateway_url, jobName }).catch(
          (error: unknown) => warn(logger, error, 'the run itself is unaffected'),
        );
      }
    },
  };
}

/** Each configured job with its mode and its dataset's provider, to pre-set its series at 0. */
function configuredJobs(config: MdpConfig): MetricsJob[] {
  return Object.entries(config.jobs).map(([name, job]) => ({
    name,
    mode: job.mode,
    provider: config.datasets[job.dataset]?.provider ?? '',
  }));
}

/**
 * Starts the last-success gauge from job_runs, so it is right from the first scrape of a fresh
 * process, and a push after a failed run still carries the last success.
 */
async function seedLastSuccess(
  metrics: PipelineMetrics,
  store: Store,
  jobName: string,
  logger: Logger,
): Promise<void> {
  try {
    const runs = await store.listRuns({ jobName, limit: LAST_SUCCESS_LOOKBACK_RUNS });
    const last = runs.find((run) => run.status === 'success' && !run.dryRun);
    if (last?.completedAt != null) metrics.seedLastSuccess(jobName, last.completedAt);
  } catch (error: unknown) {
    warn(logger, error, 'pipeline_job_last_success_timestamp_seconds waits for the next success');
  }
}

function warn(logger: Logger, thrown: unknown, consequence: string): void {
  const error = toError(thrown);
  const code = error instanceof MdpError ? error.code : undefined;
  logger.warn({ code }, `${error.message}; ${consequence}`);
}
