import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { childController, type ChildController } from '../core/child-controller.js';
import type { MdpConfig } from '../core/config/load-config.js';
import { JobLockedError, toError } from '../core/errors.js';
import { RunEvents } from '../pipeline/run-events.js';
import { systemTiming, type Timing } from '../pipeline/timing.js';
import type { Store } from '../store/store.js';
import type { ProcessRuntime } from './process-runtime.js';
import type { ProcessTelemetry } from './process-telemetry.js';
import { Reaper } from './reaper.js';
import { runJob } from './run-job.js';
import { scheduledJobsOf } from './scheduled-job.js';
import { FollowedJob } from './followed-job.js';
import { Scheduler, type TickRunOutcome } from './scheduler.js';
import { SchedulerEvents, type Tick } from './scheduler-events.js';
import { logSchedulerEvents } from './scheduler-log.js';
import { SchedulerMetrics } from './scheduler-metrics.js';

/** What the service runs on; the store is open, and the caller closes it after `run`. */
export interface JobServiceDeps {
  readonly runtime: ProcessRuntime;
  readonly store: Store;
  readonly telemetry: ProcessTelemetry;
  readonly logger: Logger;
  /** Who this process is in the tick claims, e.g. `host:pid:start`. */
  readonly claimant: string;
  readonly timing?: Timing;
  /** How often abandoned runs are looked for (default 30 s). */
  readonly reapIntervalMs?: number;
  /** How stale the scheduler's beat may be before /healthz says it is not alive (default 15 s). */
  readonly livenessMaxAgeMs?: number;
}

/** What a reload changed, for the log. */
export interface ReloadSummary {
  /** Scheduled jobs added, removed or changed: they start again at their next tick. */
  readonly rescheduled: readonly string[];
  /** Followed jobs stopped (removed or changed) and those started (added or changed). */
  readonly stoppedFollowing: readonly string[];
  readonly startedFollowing: readonly string[];
  /** Providers whose instance is rebuilt, or whose pacing changed (applied in place, state kept). */
  readonly providers: readonly string[];
  /** Settings that take effect only when the service restarts (the store, the metrics server). */
  readonly needRestart: readonly string[];
}

const DEFAULT_REAP_INTERVAL_MS = 30_000;
const DEFAULT_LIVENESS_MAX_AGE_MS = 15_000;

/**
 * `mdp serve`: every scheduled job at its ticks and every `follow: true` job continuously, in one
 * process over one store, through the same `runJob` as the one-shot commands. A job's failure is
 * recorded (job_runs, the tick) and counted, and never stops the others; a followed job that
 * fails is started again after an exponential, capped pause. `reload` applies a new config
 * (validated by the caller); aborting `signal` stops taking ticks and cancels the runs, whose
 * in-flight batches commit before they are recorded cancelled.
 */
export class JobService {
  private readonly timing: Timing;
  /** The service's node in the cancellation tree: runs hang below it. */
  private readonly controller: ChildController;
  private readonly events = new SchedulerEvents();
  private scheduler: Scheduler | undefined;
  private readonly followed = new Map<string, FollowedJob>();
  private metrics: SchedulerMetrics | undefined;
  private readonly stopListening: (() => void)[] = [];
  /** From `run`'s first step on, a reload seeds its added jobs' gauges; before, `run` seeds all. */
  private seedsAddedJobs = false;

  constructor(
    private readonly deps: JobServiceDeps,
    signal: AbortSignal,
  ) {
    this.timing = deps.timing ?? systemTiming;
    this.controller = childController(signal);
  }

  /** The jobs of `config` the service runs: those with a schedule, and those followed. */
  static jobsOf(config: MdpConfig): { scheduled: string[]; followed: string[] } {
    const names = Object.entries(config.jobs);
    return {
      scheduled: names.filter(([, job]) => job.schedule !== undefined).map(([name]) => name),
      followed: names.filter(([, job]) => job.follow).map(([name]) => name),
    };
  }

  /** Runs until the signal aborts, then stops taking ticks and waits for the runs to end. */
  async run(): Promise<void> {
    const { deps } = this;
    this.seedsAddedJobs = true;
    const first = deps.runtime.config;
    const registry = deps.telemetry.metrics?.registry;
    if (registry) {
      this.metrics = new SchedulerMetrics(registry, JobService.jobsOf(first).scheduled);
      this.stopListening.push(this.metrics.observe(this.events));
    }
    this.stopListening.push(logSchedulerEvents(this.events, deps.logger));
    const maxAge = deps.livenessMaxAgeMs ?? DEFAULT_LIVENESS_MAX_AGE_MS;
    this.stopListening.push(
      deps.telemetry.liveness.register('scheduler', () => {
        const beat = this.scheduler?.lastBeatAt;
        const ago = beat === undefined ? undefined : this.timing.monotonic() - beat;
        return {
          ok: this.scheduler?.isAlive(maxAge) ?? false,
          detail: ago === undefined ? 'not started' : `last beat ${Math.round(ago)} ms ago`,
        };
      }),
    );
    await deps.telemetry.seedJobs(deps.store, Object.keys(first.jobs));
    await deps.telemetry.serve();
    // A SIGHUP during the awaits above replaced the config without a scheduler to tell.
    const config = deps.runtime.config;
    this.metrics?.reconfigure(JobService.jobsOf(config).scheduled);
    const reaper = new Reaper({
      store: deps.store,
      intervalMs: deps.reapIntervalMs ?? DEFAULT_REAP_INTERVAL_MS,
      logger: deps.logger,
      timing: this.timing,
    }).run(this.controller.signal);

    this.scheduler = this.startScheduler(config);
    for (const name of JobService.jobsOf(config).followed) this.follow(name);
    const { scheduled, followed } = JobService.jobsOf(config);
    deps.logger.info(
      { scheduled, followed, claimant: deps.claimant },
      `serving ${scheduled.length} scheduled and ${followed.length} followed job${scheduled.length + followed.length === 1 ? '' : 's'}`,
    );

    await new Promise<void>((resolve) => {
      if (this.controller.signal.aborted) resolve();
      else this.controller.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    deps.logger.info('stopping: no more ticks; running jobs finish their in-flight batch');
    await this.stopAll(toError(this.controller.signal.reason));
    await reaper;
    for (const stop of this.stopListening.splice(0)) stop();
    this.controller.dispose();
  }

  /**
   * Makes `config` the running one, job by job: providers and pacing reconfigured; scheduled
   * jobs that did not change keep their state (next tick, failure backoff, running and waiting
   * ticks); changed and added ones start at their next tick, with no catch-up (the service was
   * up, nothing was missed); removed ones take no more ticks, a running tick of theirs finishing
   * and being recorded. Followed jobs that changed are restarted (cancelled with reason
   * `reload`). The storage, the metrics server and the log level keep their first config (see
   * `needRestart`). Added jobs' last-run gauges are read from the store (ProcessTelemetry's
   * seedJobs). Before `run` it only replaces the config `run` starts with.
   */
  reload(loaded: MdpConfig): ReloadSummary {
    const before = this.deps.runtime.config;
    const config = keepFirstSettings(before, loaded);
    const needRestart = [
      ...(isDeepStrictEqual(before.storage, loaded.storage) ? [] : ['storage']),
      ...(isDeepStrictEqual(before.telemetry.metrics, loaded.telemetry.metrics)
        ? []
        : ['telemetry.metrics']),
      ...(before.telemetry.log_level === loaded.telemetry.log_level ? [] : ['telemetry.log_level']),
    ];
    const providers = this.deps.runtime.reconfigure(config);
    this.deps.telemetry.reconfigure(config);
    if (this.seedsAddedJobs) {
      const added = Object.keys(config.jobs).filter((name) => before.jobs[name] === undefined);
      // Logged, never thrown, by seedJobs; `run` seeds every job of the config it starts with.
      void this.deps.telemetry.seedJobs(this.deps.store, added);
    }
    const rescheduled = changedJobs(before, config, (job) => job.schedule !== undefined);
    if (this.scheduler) {
      this.scheduler.reconfigure(scheduledJobsOf(config), new Set(rescheduled));
      this.metrics?.reconfigure(JobService.jobsOf(config).scheduled);
    }
    const refollow = changedJobs(before, config, (job) => job.follow);
    const stoppedFollowing: string[] = [];
    const startedFollowing: string[] = [];
    for (const name of refollow) {
      const running = this.followed.get(name);
      if (running) {
        running.cancel({ kind: 'reload' });
        stoppedFollowing.push(name);
      }
      if (this.scheduler && config.jobs[name]?.follow) {
        this.follow(name, running?.done);
        startedFollowing.push(name);
      }
    }
    return { rescheduled, stoppedFollowing, startedFollowing, providers, needRestart };
  }

  private startScheduler(config: MdpConfig): Scheduler {
    const scheduler = new Scheduler({
      jobs: scheduledJobsOf(config),
      ticks: this.deps.store.ticks,
      claimant: this.deps.claimant,
      runTick: (tick, signal) => this.runTick(tick, signal),
      timing: this.timing,
      events: this.events,
    });
    scheduler.start();
    return scheduler;
  }

  /**
   * One tick: a live job runs one cycle; a backfill job runs its configured window up to the tick
   * (or to `backfill.end`), its checkpoints keeping each tick to what is not stored yet. A job
   * held by another run (`mdp run`, another service) is skipped, not failed.
   */
  private async runTick(tick: Tick, signal: AbortSignal): Promise<TickRunOutcome> {
    const config = this.deps.runtime.config;
    const job = config.jobs[tick.jobName];
    if (job === undefined) return { skipped: 'the job is no longer in the config' };
    const to = job.mode === 'backfill' && job.backfill?.end === undefined ? tick.tickAt : undefined;
    try {
      const summary = await runJob(
        this.runDeps(),
        { jobName: tick.jobName, mode: job.mode, ...(to === undefined ? {} : { to }) },
        AbortSignal.any([signal, this.controller.signal]),
      );
      return { runId: summary.run.runId };
    } catch (error: unknown) {
      if (error instanceof JobLockedError) return { skipped: error.message };
      throw error;
    }
  }

  private runDeps(): Parameters<typeof runJob>[0] {
    const { runtime, store, telemetry } = this.deps;
    return { runtime, store, telemetry, events: new RunEvents() };
  }

  /** Starts following `name` (after `after`, the previous follower of it, has ended). */
  private follow(name: string, after?: Promise<void>): void {
    const follower = new FollowedJob(name, this.controller.signal, {
      run: (signal) =>
        runJob(this.runDeps(), { jobName: name, mode: 'live', follow: true }, signal).then(
          () => undefined,
        ),
      logger: this.deps.logger,
      timing: this.timing,
    });
    this.followed.set(name, follower);
    follower.start(after);
    void follower.done.finally(() => {
      if (this.followed.get(name) === follower) this.followed.delete(name);
    });
  }

  private async stopAll(reason: Error): Promise<void> {
    const stopping = this.scheduler?.stop();
    this.scheduler?.abortRuns(reason);
    await Promise.allSettled([
      stopping,
      ...[...this.followed.values()].map((follower) => follower.done),
    ]);
  }
}

/**
 * `loaded` with the settings a running service cannot change kept as they are in `running`: the
 * store stays open on the first storage (a config naming another would be a lie about where the
 * runs go), the metrics server stays bound, and the logger keeps its level (pino's level is
 * fixed by the composition root). Each is reported as needing a restart instead.
 */
function keepFirstSettings(running: MdpConfig, loaded: MdpConfig): MdpConfig {
  return {
    ...loaded,
    storage: running.storage,
    telemetry: {
      ...loaded.telemetry,
      metrics: running.telemetry.metrics,
      log_level: running.telemetry.log_level,
    },
  };
}

/** Jobs added, removed or changed between two configs among those `pick` selects in either. */
function changedJobs(
  before: MdpConfig,
  after: MdpConfig,
  pick: (job: MdpConfig['jobs'][string]) => boolean,
): string[] {
  const names = new Set<string>();
  for (const config of [before, after]) {
    for (const [name, job] of Object.entries(config.jobs)) if (pick(job)) names.add(name);
  }
  return [...names]
    .filter((name) => !isDeepStrictEqual(jobShape(before, name), jobShape(after, name)))
    .sort();
}

/** Everything a job's runs depend on: the job, its dataset and its provider. */
function jobShape(config: MdpConfig, name: string): unknown {
  const job = config.jobs[name];
  const dataset = job ? config.datasets[job.dataset] : undefined;
  const provider = dataset ? config.providers[dataset.provider] : undefined;
  return { job, dataset, provider };
}
