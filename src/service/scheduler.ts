import { CancelledError, toError } from '../core/errors.js';
import type { Timing } from '../pipeline/timing.js';
import type { TickClaims, TickResult } from '../store/tick-claims.js';
import type { ScheduledJob } from './scheduled-job.js';
import { SchedulerEvents, type SkipReason, type Tick } from './scheduler-events.js';

/** What running a tick came to, when it did not throw. */
export interface TickRunOutcome {
  /** The run the tick started, recorded with the tick. */
  readonly runId?: number;
  /** Set when the runner chose not to run (e.g. the job is held by another process): why. */
  readonly skipped?: string;
}

/**
 * Runs one claimed tick of a job to its end. Throwing counts as the tick's failure; `signal` is
 * aborted only by `Scheduler.abortRuns` (a shutdown that cancels runs).
 */
export type TickRunner = (tick: Tick, signal: AbortSignal) => Promise<TickRunOutcome>;

/** How long a job whose ticks keep failing sits out: `baseMs * 2^(failures-1)`, at most `maxMs`. */
export interface FailureBackoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_FAILURE_BACKOFF: FailureBackoff = { baseMs: 10_000, maxMs: 15 * 60_000 };

/** How often the scheduler's loop wakes at least, and so how fresh its heartbeat is. */
export const DEFAULT_BEAT_MS = 1_000;

export interface SchedulerOptions {
  readonly jobs: readonly ScheduledJob[];
  /** Where ticks are claimed: every scheduler on one store runs each tick once between them. */
  readonly ticks: TickClaims;
  /** Who this scheduler is in the claims (host, pid, start), for the log and `mdp status`. */
  readonly claimant: string;
  readonly runTick: TickRunner;
  readonly timing: Timing;
  readonly events?: SchedulerEvents;
  readonly failureBackoff?: FailureBackoff;
  readonly beatMs?: number;
}

/** Counts of what became of a job's ticks in this scheduler. */
export interface TickCounts {
  ran: number;
  skipped: number;
  missed: number;
  failed: number;
  /** Claimed first by another service. */
  taken: number;
  cancelled: number;
}

/** Where one scheduled job stands, for metrics and status. */
export interface JobTickStatus {
  readonly jobName: string;
  /** The next tick by the schedule, epoch ms; undefined when it never fires again. */
  readonly nextTickAt: number | undefined;
  /** The newest tick this scheduler started (claimed and ran or is running), epoch ms. */
  readonly lastTickAt: number | undefined;
  readonly running: boolean;
  /** Ticks before this time are skipped after repeated failures; 0 when not backing off. */
  readonly backoffUntil: number;
  readonly counts: Readonly<TickCounts>;
}

/** The scheduler's states: stop() moves on from running, and nothing comes back. */
export type SchedulerState = 'idle' | 'running' | 'stopping' | 'stopped';

/** What the scheduler keeps per job. */
interface JobState {
  readonly job: ScheduledJob;
  /** `catchup` while ticks missed before (or during a sleep) are run; the loop leaves it alone. */
  phase: 'catchup' | 'live';
  nextTickAt: number | undefined;
  lastTickAt: number | undefined;
  /** The tick being claimed or run, and what it is (for "still running" messages). */
  running: Promise<void> | undefined;
  current: Tick | undefined;
  /** A claimed tick waiting for `running` to end (`overlap: wait`). */
  waiting: Tick | undefined;
  failures: number;
  backoffUntil: number;
  readonly counts: TickCounts;
  /** Removed or replaced by `reconfigure`: its pending catch-up ticks are not started. */
  retired: boolean;
  /** The state this one replaced while a tick of it ran (for "still running" messages). */
  replaced?: JobState;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function newJobState(job: ScheduledJob, phase: JobState['phase']): JobState {
  return {
    job,
    phase,
    nextTickAt: undefined,
    lastTickAt: undefined,
    running: undefined,
    current: undefined,
    waiting: undefined,
    failures: 0,
    backoffUntil: 0,
    counts: { ran: 0, skipped: 0, missed: 0, failed: 0, taken: 0, cancelled: 0 },
    retired: false,
  };
}

/**
 * Runs scheduled jobs at their cron ticks (see graphile-worker's cron.ts). On start, each job's
 * ticks missed since its last claimed tick are caught up by its `catchup` policy, oldest first,
 * before any live tick; every tick is claimed in the store first, so several schedulers on one
 * store run it once. A tick that finds its job still running is skipped or waits (`overlap`); a
 * job whose ticks fail backs off exponentially without holding up the others. `stop()` takes no
 * more ticks and lets running ones finish; `abortRuns()` cancels them too.
 */
export class Scheduler {
  readonly events: SchedulerEvents;
  /** Replaced (never mutated) by `reconfigure`, so a pass of the loop sees one set of jobs. */
  private jobs: readonly JobState[];
  private readonly backoff: FailureBackoff;
  private readonly beatMs: number;
  private readonly loopAbort = new AbortController();
  /** Aborted to wake the loop early (a job's catch-up ended); replaced at every pass. */
  private nudge = new AbortController();
  private readonly runAbort = new AbortController();
  /** Promises to settle before stop() returns: the loop, catch-ups and skipped-tick records. */
  private readonly pending = new Set<Promise<unknown>>();
  private stateNow: SchedulerState = 'idle';
  private beatAt: number | undefined;
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: SchedulerOptions) {
    this.events = options.events ?? new SchedulerEvents();
    this.backoff = options.failureBackoff ?? DEFAULT_FAILURE_BACKOFF;
    this.beatMs = options.beatMs ?? DEFAULT_BEAT_MS;
    this.jobs = options.jobs.map((job) => newJobState(job, 'catchup'));
  }

  get state(): SchedulerState {
    return this.stateNow;
  }

  /** Monotonic time of the loop's last pass, undefined before the first. */
  get lastBeatAt(): number | undefined {
    return this.beatAt;
  }

  /** True while running and the loop passed within `maxAgeMs` (default three beats). */
  isAlive(maxAgeMs = 3 * this.beatMs): boolean {
    return (
      this.stateNow === 'running' &&
      this.beatAt !== undefined &&
      this.options.timing.monotonic() - this.beatAt <= maxAgeMs
    );
  }

  /** Each job's next and last tick, backoff and counts. */
  status(): JobTickStatus[] {
    return this.jobs.map((state) => ({
      jobName: state.job.name,
      nextTickAt: state.nextTickAt,
      lastTickAt: state.lastTickAt,
      running: state.running !== undefined,
      backoffUntil: state.backoffUntil,
      counts: { ...state.counts },
    }));
  }

  /** Catches up each job's missed ticks, then runs live ticks until stop(). Idempotent. */
  start(): void {
    if (this.stateNow !== 'idle') return;
    this.stateNow = 'running';
    const startedAt = this.options.timing.now();
    for (const state of this.jobs) {
      this.setNext(state, state.job.schedule.nextTick(startedAt));
      this.track(this.catchUp(state, startedAt).finally(() => this.goLive(state)));
    }
    this.beatAt = this.options.timing.monotonic();
    this.track(this.loop());
  }

  /**
   * Makes `jobs` the scheduled ones, job by job, without a stop: a job kept and not named in
   * `changed` keeps everything (its next tick, its failure
   * backoff, its running and waiting ticks). A changed or added job starts at its next tick from
   * now, with no catch-up: the service was up, nothing was missed; a changed job's tick still
   * running is waited for under its new `overlap`, and its failure count starts again (the change
   * may be the fix). A removed job takes no more ticks; its running tick finishes and is recorded
   * (stop() still waits for it). Returns the names of the jobs added and removed.
   */
  reconfigure(
    jobs: readonly ScheduledJob[],
    changed: ReadonlySet<string>,
  ): { added: string[]; removed: string[] } {
    const before = new Map(this.jobs.map((state) => [state.job.name, state]));
    const names = new Set(jobs.map((job) => job.name));
    const removed = [...before.keys()].filter((name) => !names.has(name));
    const added = jobs.filter((job) => !before.has(job.name)).map((job) => job.name);
    const now = this.options.timing.now();
    this.jobs = jobs.map((job) => {
      const old = before.get(job.name);
      if (old !== undefined && !changed.has(job.name)) return old;
      if (old !== undefined) old.retired = true;
      const state = newJobState(job, this.stateNow === 'idle' ? 'catchup' : 'live');
      if (old?.running !== undefined) this.inheritRunning(state, old);
      if (this.stateNow !== 'idle') this.setNext(state, job.schedule.nextTick(now));
      return state;
    });
    for (const name of removed) {
      (before.get(name) as JobState).retired = true;
      // Its next tick will not come: the metrics and the log drop it.
      this.events.emit('tick:next', { jobName: name, tickAt: undefined });
    }
    this.nudge.abort();
    return { added, removed };
  }

  /** `state`'s next tick waits for the tick its previous config (`old`) still runs. */
  private inheritRunning(state: JobState, old: JobState): void {
    const running = old.running as Promise<void>;
    state.running = running;
    state.replaced = old;
    void running.finally(() => {
      if (state.running === running) state.running = undefined;
    });
  }

  /**
   * Takes no more ticks and waits for the running ones to end (a claimed tick still waiting is
   * recorded missed). Idempotent; resolves when everything has settled.
   */
  stop(): Promise<void> {
    if (this.stopped !== undefined) return this.stopped;
    const wasRunning = this.stateNow === 'running';
    this.stateNow = 'stopping';
    this.loopAbort.abort(new Error('scheduler stopping'));
    this.stopped = (async () => {
      if (wasRunning) await this.settleAll();
      this.stateNow = 'stopped';
    })();
    return this.stopped;
  }

  /** Cancels the running ticks' runs with `reason` (their signal); stop() still waits for them. */
  abortRuns(reason: Error): void {
    this.runAbort.abort(reason);
  }

  private async settleAll(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Keeps `promise` for stop() to wait on, until it settles. */
  private track(promise: Promise<unknown>): void {
    const settled = promise.catch(() => undefined).finally(() => this.pending.delete(settled));
    this.pending.add(settled);
  }

  /** Wakes at each due tick, and at least every beat, until stopped. */
  private async loop(): Promise<void> {
    const { timing } = this.options;
    while (this.stateNow === 'running') {
      this.beatAt = timing.monotonic();
      const now = timing.now();
      let wake = now + this.beatMs;
      for (const state of this.jobs) {
        if (state.phase !== 'live' || state.nextTickAt === undefined) continue;
        if (state.nextTickAt <= now) this.due(state, now);
        if (state.nextTickAt !== undefined) wake = Math.min(wake, state.nextTickAt);
      }
      this.nudge = new AbortController();
      try {
        await timing.sleep(
          Math.max(1, wake - now),
          AbortSignal.any([this.loopAbort.signal, this.nudge.signal]),
        );
      } catch {
        // Woken early: stopping (the loop condition ends it) or nudged (look again).
      }
    }
  }

  /**
   * The job's next tick has come. Usually one tick is due and fires; after a sleep (the machine's,
   * or a long catch-up) several are: the newest fires as the live tick, and the older ones are
   * missed ticks, run first (oldest first) only under `catchup: all`, up to its limit.
   */
  private due(state: JobState, now: number): void {
    const first = state.nextTickAt as number;
    const { job } = state;
    const following = job.schedule.nextTick(first);
    let live = first;
    let late: readonly number[] = [];
    if (following !== undefined && following <= now) {
      const older = job.catchup === 'all' ? job.catchupLimit : 0;
      const missed = job.schedule.missedTicks(first - 1, now, older + 1);
      live = missed.newest.at(-1) as number;
      late = missed.newest.slice(0, -1);
      this.reportMissed(state, missed.count - missed.newest.length, missed.countCapped);
    }
    if (late.length === 0) {
      this.setNext(state, job.schedule.nextTick(now));
      this.startTick(state, { jobName: job.name, tickAt: live, catchup: false });
      return;
    }
    // The live tick stays due: once the late ones have run, the loop takes it (or, if more
    // ticks passed meanwhile, the newest of those) under the job's overlap rule.
    this.setNext(state, live);
    state.phase = 'catchup';
    this.track(
      (async () => {
        for (const tickAt of late) {
          await this.runInTurn(state, { jobName: job.name, tickAt, catchup: true });
        }
      })().finally(() => this.goLive(state)),
    );
  }

  /** Hands the job back to the loop, which wakes to look at its next tick. */
  private goLive(state: JobState): void {
    state.phase = 'live';
    this.nudge.abort();
  }

  /** Runs the ticks missed since the job's last claimed tick, by its `catchup` policy. */
  private async catchUp(state: JobState, startedAt: number): Promise<void> {
    const { job } = state;
    let last: number | undefined;
    try {
      last = (await this.options.ticks.lastTick(job.name))?.tickAt;
    } catch (error: unknown) {
      this.events.emit('store:error', {
        jobName: job.name,
        action: 'lastTick',
        error: toError(error),
      });
      return;
    }
    const limit = job.catchup === 'all' ? job.catchupLimit : job.catchup === 'latest' ? 1 : 0;
    const missed = job.schedule.missedTicks(last, startedAt, Math.max(1, limit));
    const late = missed.newest.slice(Math.max(0, missed.newest.length - limit));
    this.reportMissed(state, missed.count - late.length, missed.countCapped);
    for (const tickAt of late) {
      await this.runInTurn(state, { jobName: job.name, tickAt, catchup: true });
    }
  }

  private reportMissed(state: JobState, count: number, capped: boolean): void {
    if (count <= 0) return;
    state.counts.missed += count;
    this.events.emit('tick:missed', { jobName: state.job.name, count, capped });
  }

  /** Starts `tick` after the job's running tick (if any) and waits until it has run. */
  private async runInTurn(state: JobState, tick: Tick): Promise<void> {
    if (this.stateNow !== 'running' || state.retired) return;
    await state.running;
    if (this.stateNow !== 'running' || state.retired) return;
    this.startTick(state, tick);
    await state.running;
  }

  /** Fires `tick` now, or deals with it by the job's `overlap` when a tick is still running. */
  private startTick(state: JobState, tick: Tick): void {
    const previous = state.running;
    if (previous === undefined) {
      this.setRunning(state, this.claimAndRun(state, tick));
      return;
    }
    const current = state.current ?? state.replaced?.current;
    const busy = current
      ? `the run of its tick ${iso(current.tickAt)} is still running`
      : 'its previous tick is still being claimed';
    if (state.job.overlap === 'skip' || state.waiting !== undefined) {
      const detail =
        state.waiting === undefined
          ? `${busy} (overlap: skip)`
          : `${busy} and tick ${iso(state.waiting.tickAt)} already waits for it (overlap: wait)`;
      this.track(this.claimAndSkip(state, tick, 'overlap', detail));
      return;
    }
    state.waiting = tick;
    this.setRunning(state, this.waitThenRun(state, tick, previous));
  }

  private setRunning(state: JobState, work: Promise<void>): void {
    state.running = work;
    this.track(work);
    void work.finally(() => {
      if (state.running === work) state.running = undefined;
    });
  }

  private async waitThenRun(state: JobState, tick: Tick, previous: Promise<void>): Promise<void> {
    try {
      if (!(await this.claim(state, tick))) return;
      this.events.emit('tick:waiting', tick);
      await previous;
    } finally {
      state.waiting = undefined;
    }
    if (this.stateNow !== 'running') {
      this.reportMissed(state, 1, false);
      await this.record(tick, {
        outcome: 'missed',
        detail: 'the service stopped while the tick waited for the running one',
      });
      return;
    }
    await this.runClaimed(state, tick);
  }

  private async claimAndRun(state: JobState, tick: Tick): Promise<void> {
    if (!(await this.claim(state, tick))) return;
    await this.runClaimed(state, tick);
  }

  private async claimAndSkip(
    state: JobState,
    tick: Tick,
    reason: SkipReason,
    detail: string,
  ): Promise<void> {
    if (!(await this.claim(state, tick))) return;
    await this.skip(state, tick, reason, detail);
  }

  private async skip(
    state: JobState,
    tick: Tick,
    reason: SkipReason,
    detail: string,
  ): Promise<void> {
    state.counts.skipped += 1;
    this.events.emit('tick:skipped', { ...tick, reason, detail });
    await this.record(tick, { outcome: 'skipped', detail });
  }

  /** Runs a claimed tick (unless the job is backing off) and records what it came to. */
  private async runClaimed(state: JobState, tick: Tick): Promise<void> {
    const { timing } = this.options;
    if (timing.now() < state.backoffUntil) {
      const detail = `backing off after ${state.failures} failed tick${state.failures === 1 ? '' : 's'} in a row, until ${iso(state.backoffUntil)}`;
      await this.skip(state, tick, 'backoff', detail);
      return;
    }
    state.current = tick;
    state.lastTickAt = Math.max(state.lastTickAt ?? tick.tickAt, tick.tickAt);
    this.events.emit('tick:start', tick);
    const started = timing.monotonic();
    try {
      const outcome = await this.options.runTick(tick, this.runAbort.signal);
      if (outcome.skipped !== undefined) {
        state.counts.skipped += 1;
        this.events.emit('tick:skipped', { ...tick, reason: 'runner', detail: outcome.skipped });
        await this.record(tick, {
          outcome: 'skipped',
          runId: outcome.runId,
          detail: outcome.skipped,
        });
        return;
      }
      state.failures = 0;
      state.backoffUntil = 0;
      state.counts.ran += 1;
      this.events.emit('tick:ran', {
        ...tick,
        runId: outcome.runId,
        durationMs: timing.monotonic() - started,
      });
      await this.record(tick, { outcome: 'ran', runId: outcome.runId });
    } catch (thrown: unknown) {
      const error = toError(thrown);
      // Cancelled by abortRuns, or from above (the service's shutdown): not the job's failure.
      if (this.runAbort.signal.aborted || error instanceof CancelledError) {
        state.counts.cancelled += 1;
        this.events.emit('tick:cancelled', { ...tick, error });
        await this.record(tick, { outcome: 'failed', detail: `cancelled: ${error.message}` });
        return;
      }
      state.failures += 1;
      const delay = Math.min(this.backoff.baseMs * 2 ** (state.failures - 1), this.backoff.maxMs);
      state.backoffUntil = timing.now() + delay;
      state.counts.failed += 1;
      this.events.emit('tick:failed', {
        ...tick,
        error,
        failures: state.failures,
        backoffUntil: state.backoffUntil,
      });
      await this.record(tick, { outcome: 'failed', detail: error.message });
    } finally {
      state.current = undefined;
    }
  }

  /** Claims the tick in the store; false when another service has it (or the store failed). */
  private async claim(state: JobState, tick: Tick): Promise<boolean> {
    try {
      const won = await this.options.ticks.claim(tick.jobName, tick.tickAt, this.options.claimant, {
        catchup: tick.catchup,
      });
      if (!won) {
        state.counts.taken += 1;
        this.events.emit('tick:taken', tick);
      }
      return won;
    } catch (error: unknown) {
      this.events.emit('store:error', {
        jobName: tick.jobName,
        action: 'claim',
        error: toError(error),
      });
      return false;
    }
  }

  private async record(tick: Tick, result: TickResult): Promise<void> {
    try {
      await this.options.ticks.record(tick.jobName, tick.tickAt, result);
    } catch (error: unknown) {
      this.events.emit('store:error', {
        jobName: tick.jobName,
        action: 'record',
        error: toError(error),
      });
    }
  }

  private setNext(state: JobState, tickAt: number | undefined): void {
    state.nextTickAt = tickAt;
    this.events.emit('tick:next', { jobName: state.job.name, tickAt });
  }
}
