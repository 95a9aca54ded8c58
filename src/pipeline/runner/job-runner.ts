import type { Logger } from 'pino';
import type { MdpConfig } from '../../core/config/load-config.js';
import type { DatasetConfig, ProviderConfig } from '../../core/config/config-schema.js';
import { alignDown } from '../../core/interval.js';
import { describeDuration } from '../../core/duration.js';
import { isBatchProvider } from '../../core/provider.js';
import type { ProviderRegistry } from '../../core/provider-registry.js';
import type { Spool } from '../../store/spool.js';
import type { JobRun, ProcessIdentity, RunMode, Store } from '../../store/store.js';
import { systemTiming, type Timing } from '../timing.js';
import type { PacingRegistry } from '../policies/pacing-registry.js';
import {
  callProvider,
  callProviderBatch,
  type ProviderCallOptions,
} from '../policies/provider-call.js';
import type { RunEndEvent, RunEvents } from '../run-events.js';
import { BarSink } from './bar-sink.js';
import { fetchBatchWindow, fetchWindow, type FetchedWindow } from './fetch-window.js';
import type { JobContext } from './job-context.js';
import { runBackfill, type BackfillPlanSummary, type BackfillWindow } from './backfill-job.js';
import { runLive, type LivePlanSummary } from './live-job.js';
import { RunRequestError } from './run-request-error.js';
import { RunTotalsCounter } from './run-totals-counter.js';
import { SerialLock } from './serial-lock.js';
import { trackedRun } from './tracked-run.js';

export interface JobRunnerDeps {
  readonly config: MdpConfig;
  readonly store: Store;
  readonly providers: ProviderRegistry;
  readonly pacing: PacingRegistry;
  readonly events: RunEvents;
  readonly logger: Logger;
  readonly host: string;
  readonly pid: number;
  readonly timing?: Timing;
  readonly random?: () => number;
  /** How often a run's heartbeat updates `job_runs`; default the job's `execution.heartbeat_interval`. */
  readonly heartbeatIntervalMs?: number;
  /** The process beyond host and pid (boot, pid namespace, start time), for the liveness rule. */
  readonly identity?: ProcessIdentity;
  /** `storage.spool`: where live runs keep batches while the primary storage is unreachable. */
  readonly spool?: Spool;
}

export interface RunOptions {
  readonly jobName: string;
  /** The command's mode; a job of the other mode is a usage error. */
  readonly mode: RunMode;
  readonly dryRun?: boolean;
  /** live: keep running a cycle at every bar close until cancelled. */
  readonly follow?: boolean;
  /** backfill: override the job's window (epoch ms). */
  readonly from?: number;
  readonly to?: number;
  /** backfill: refetch chunks that have checkpoints. */
  readonly force?: boolean;
  readonly signal: AbortSignal;
}

/** What a finished run did, for the CLI's summary line. */
export interface RunSummary {
  readonly run: JobRun;
  readonly end: RunEndEvent;
  readonly dryRun: boolean;
  readonly writeEnabled: boolean;
  /** Bars fetched but not written because writes are disabled. */
  readonly skipped: number;
  readonly plan?: BackfillPlanSummary | LivePlanSummary;
}

/** Runs configured jobs as tracked runs against the store and providers it is given. */
export class JobRunner {
  private readonly timing: Timing;
  private readonly random: () => number;

  constructor(private readonly deps: JobRunnerDeps) {
    this.timing = deps.timing ?? systemTiming;
    this.random = deps.random ?? Math.random;
  }

  /** Runs one job to its end; rejects with the run's error (already recorded) on failure or cancel. */
  async run(runOptions: RunOptions): Promise<RunSummary> {
    // The run stops on the caller's signal, or when it loses its job to another run.
    const lease = new AbortController();
    const options = { ...runOptions, signal: AbortSignal.any([runOptions.signal, lease.signal]) };
    const context = this.context(options);
    const { config } = this.deps;
    const window = options.mode === 'backfill' ? this.backfillWindow(context, options) : undefined;
    const params: Record<string, unknown> = {
      ...(window
        ? {
            from: new Date(window.start).toISOString(),
            to: new Date(window.end).toISOString(),
            force: Boolean(options.force),
          }
        : {}),
      ...(options.follow ? { follow: true } : {}),
      write_enabled: config.features.write_enabled,
    };
    let plan: RunSummary['plan'];
    const { run, end } = await trackedRun(
      {
        store: this.deps.store,
        start: {
          jobName: options.jobName,
          mode: options.mode,
          profile: config.source.profile ?? null,
          dryRun: context.dryRun,
          host: this.deps.host,
          pid: this.deps.pid,
          configHash: config.source.hash,
          params,
          heartbeatIntervalMs:
            this.deps.heartbeatIntervalMs ?? context.job.execution.heartbeat_interval,
          ...(this.deps.identity ? { identity: this.deps.identity } : {}),
        },
        events: this.deps.events,
        totals: context.totals,
        timing: this.timing,
        signal: options.signal,
        lease,
        onTrackingError: (error) =>
          this.deps.logger.warn({ err: error }, 'could not record run progress'),
        storageRetry: config.storage.primary.write.retry,
        random: this.random,
      },
      async (started) => {
        plan = window
          ? await runBackfill(
              context,
              started,
              window,
              { force: Boolean(options.force), concurrency: context.job.execution.concurrency },
              options.signal,
            )
          : await runLive(
              context,
              started,
              { follow: Boolean(options.follow), concurrency: context.job.execution.concurrency },
              options.signal,
            );
      },
    );
    return {
      run,
      end,
      dryRun: context.dryRun,
      writeEnabled: config.features.write_enabled,
      skipped: context.totals.skipped,
      plan,
    };
  }

  private context(options: RunOptions): JobContext {
    const { config, store, logger } = this.deps;
    const job = config.jobs[options.jobName];
    if (!job) {
      const known = Object.keys(config.jobs);
      throw new RunRequestError({
        kind: 'unknown_job',
        jobName: options.jobName,
        configFile: config.source.file,
        known,
      });
    }
    if (job.mode !== options.mode) {
      throw new RunRequestError({
        kind: 'wrong_mode',
        jobName: options.jobName,
        jobMode: job.mode,
        requested: options.mode,
      });
    }
    if (options.follow && options.mode !== 'live')
      throw new RunRequestError({ kind: 'follow_needs_live', jobName: options.jobName });
    const dataset = config.datasets[job.dataset] as DatasetConfig;
    const providerName = dataset.provider;
    const providerConfig = config.providers[providerName] as ProviderConfig;
    const provider = this.deps.providers.get(providerName, providerConfig);
    const bucket = this.deps.pacing.bucketFor(providerName, providerConfig.pacing);
    const cooldown = this.deps.pacing.cooldownFor(providerName, providerConfig.pacing);
    const retry = providerConfig.retry ?? job.execution.retry;
    const totals = new RunTotalsCounter();
    const timing = this.timing;
    const events = this.deps.events;
    // Pacing, timeout, retry and their telemetry for one request; `symbol` names it in the log.
    const callOptions = (symbol: string, signal: AbortSignal): ProviderCallOptions => ({
      retry,
      cooldown,
      bucket,
      timeoutMs: providerConfig.request_timeout,
      timing,
      random: this.random,
      signal,
      onRequest: (outcome) => events.emit('provider:request', outcome),
      onPaced: ({ waitMs }) => events.emit('provider:paced', { provider: providerName, waitMs }),
      // Logged once the pause is decided: a 429 that fails the request pauses nothing.
      onPause: ({ waitMs }) =>
        logger.warn(
          { provider: providerName, symbol, waitMs: Math.round(waitMs) },
          `provider answered 429 (rate limited); pausing it for ${describeDuration(waitMs)}`,
        ),
      onRetry: ({ attempt, delayMs, error }) => {
        logger.warn(
          {
            provider: providerName,
            symbol,
            attempt,
            delayMs: Math.round(delayMs),
            err: error.message,
          },
          'provider request failed; retrying',
        );
        events.emit('provider:retry', { provider: providerName, attempt, delayMs, error });
      },
    });
    const drainLock = new SerialLock();
    const fetch: JobContext['fetch'] = (request, signal) =>
      fetchWindow(
        request,
        providerName,
        (page) => callProvider(provider, page, callOptions(request.symbol, signal)),
        logger,
      );
    return {
      jobName: options.jobName,
      job,
      dataset,
      providerName,
      providerConfig,
      provider,
      bucket,
      store,
      timing,
      logger: logger.child({ job: options.jobName, provider: providerName }),
      totals,
      events,
      dryRun: Boolean(options.dryRun),
      fetch,
      fetchBatch: async (request, signal) => {
        if (isBatchProvider(provider)) {
          const symbols = request.symbols.join(',');
          return fetchBatchWindow(
            request,
            providerName,
            (page) => callProviderBatch(provider, page, callOptions(symbols, signal)),
            logger,
          );
        }
        // One symbol after another: the provider takes a single symbol per request.
        const { interval, start, end } = request;
        const windows = new Map<string, FetchedWindow>();
        let pages = 0;
        for (const symbol of request.symbols) {
          const fetched = await fetch({ symbol, interval, start, end }, signal);
          windows.set(symbol, fetched);
          pages += fetched.pages;
        }
        return { windows, foreign: [], pages };
      },
      sink: (runId) =>
        new BarSink({
          store,
          runId,
          jobName: options.jobName,
          provider: providerName,
          batchSize: config.storage.primary.write.batch_size,
          writeEnabled: config.features.write_enabled,
          events,
          totals,
          timing,
          retry: config.storage.primary.write.retry,
          random: this.random,
          signal: options.signal,
          logger,
          // Live runs drain the spool; only a follow keeps batches in it, as it outlives outages.
          ...(this.deps.spool && options.mode === 'live'
            ? { spool: { spool: this.deps.spool, keep: Boolean(options.follow), drainLock } }
            : {}),
        }),
    };
  }

  /** The job's window, or --from/--to; the end never passes the last closed bar. */
  private backfillWindow(context: JobContext, options: RunOptions): BackfillWindow {
    const configured = context.job.backfill;
    const start = options.from ?? configured?.start;
    if (start === undefined) {
      throw new RunRequestError({ kind: 'no_backfill_start', jobName: options.jobName });
    }
    const lastClosedEnd = alignDown(this.timing.now(), context.dataset.interval);
    const end = Math.min(options.to ?? configured?.end ?? lastClosedEnd, lastClosedEnd);
    if (end <= start) {
      throw new RunRequestError({ kind: 'empty_window', jobName: options.jobName, start, end });
    }
    return { start, end, chunkMs: configured?.chunk };
  }
}
