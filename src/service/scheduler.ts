import { CancelledError, toError } from '../core/errors.js';
import type { Timing } from '../pipeline/timing.js';
import {
  CLAIM_BEAT_MS,
  CLAIM_LEASE_MS,
  type TickClaims,
  type TickRecord,
  type TickResult,
} from '../store/tick-claims.js';
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

/**
 * A claim that fails for a store error (SQLite write-locked past busy_timeout, a PostgreSQL blip)
 * is tried again after 1 s, 2 s, ... at most 30 s apart, until the job's next tick and for at least
 * a minute; only then is the tick missed. A tick is never dropped for one failed statement.
 */
export const CLAIM_RETRY_FIRST_MS = 1_000;
export const CLAIM_RETRY_MAX_MS = 30_000;
export const CLAIM_RETRY_MIN_SPAN_MS = 60_000;

/**
 * How often a running scheduler looks for claimants that died (SIGKILL, a lost host) to adopt
 * their unfinished ticks: a dead service's tick is adopted at most CLAIM_LEASE_MS + this after its
 * last beat. Each look is one read of the claimants' beats; a job's claims are read only when a
 * claimant died that this scheduler has not looked after yet.
 */
export const ADOPT_SWEEP_MS = 15_000;

/**
 * How long after its lease ran out a dead claimant is still looked for: ticks of one that died
 * longer ago (the store failed every look meanwhile) are adopted at the next start's catch-up.
 */
export const ADOPT_WINDOW_MS = 60 * 60_000;

/** Ticks missed for store errors kept to be written once the store answers; older ones only counted. */
const MAX_UNRECORDED = 100;

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
  /** Ticks missed because their claim kept failing, to be written missed once the store answers. */
  readonly unrecorded: { readonly tickAt: number; readonly detail: string }[];
  /** Removed or replaced by `reconfigure`: its pending catch-up ticks are not started. */
  retired: boolean;
  /** The state this one replaced while a tick of it ran (for "still running" messages). */
  replaced?: JobState;
  /** Dead claimants whose unfinished ticks of this job were adopted (or found none). */
  readonly adoptedFrom: Set<string>;
}

/** How a tick is made this scheduler's: claimed fresh, or taken over from a dead claimant. */
type ClaimWay = { readonly kind: 'claim' } | { readonly kind: 'takeOver'; readonly from: string };

const CLAIM: ClaimWay = { kind: 'claim' };
const takeOverFrom = (from: string): ClaimWay => ({ kind: 'takeOver', from });

const iso = (ms: number): string => new Date(ms).toISOString();

/** How many missed (or orphaned) ticks the job's `catchup` policy runs at once. */
function catchupLimit(job: ScheduledJob): number {
  return job.catchup === 'all' ? job.catchupLimit : job.catchup === 'latest' ? 1 : 0;
}

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
    unrecorded: [],
    retired: false,
    adoptedFrom: new Set(),
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
  /** Monotonic time of the last beat the store took; claims beat first when it is old. */
  private storeBeatAt: number | undefined;
  /** ... and of the last beat tried: a failing store is not tried at every pass of the loop. */
  private storeBeatTriedAt: number | undefined;
  private storeBeating: Promise<void> | undefined;
  /** Monotonic time of the last look for dead claimants, and the look under way. */
  private adoptTriedAt: number | undefined;
  private adopting: Promise<void> | undefined;
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
      // Ticks lost to store errors stay owed a trace, whatever the job's new config.
      if (old !== undefined) state.unrecorded.push(...old.unrecorded);
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
      // Last chance to leave a trace of ticks lost to store errors; failing here is logged.
      for (const state of this.jobs) {
        if (state.unrecorded.length > 0) await this.flushUnrecorded(state).catch(() => undefined);
      }
      if (wasRunning) await this.leaveStore();
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
      const sinceTried = this.beatAt - (this.storeBeatTriedAt ?? Number.NEGATIVE_INFINITY);
      if (sinceTried >= CLAIM_BEAT_MS) {
        this.track(this.beatStore().catch(() => undefined));
      }
      const sinceAdopt = this.beatAt - (this.adoptTriedAt ?? Number.NEGATIVE_INFINITY);
      if (sinceAdopt >= ADOPT_SWEEP_MS && this.adopting === undefined) {
        this.adoptTriedAt = this.beatAt;
        this.adopting = this.adoptDead().finally(() => (this.adopting = undefined));
        this.track(this.adopting);
      }
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
      void this.startTick(state, { jobName: job.name, tickAt: live, catchup: false });
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

  /**
   * Runs the ticks missed since the job's last claimed tick, and the ticks a dead service claimed
   * but never finished (orphans), by the job's `catchup` policy: the newest `limit` of them all run,
   * oldest first; the older orphans are taken over and recorded missed, so none stays "running".
   */
  private async catchUp(state: JobState, startedAt: number): Promise<void> {
    const { job } = state;
    let last: number | undefined;
    let orphans: TickRecord[];
    try {
      last = (await this.options.ticks.lastTick(job.name))?.tickAt;
      orphans = await this.options.ticks.orphans(job.name);
    } catch (error: unknown) {
      this.events.emit('store:error', {
        jobName: job.name,
        action: 'lastTick',
        error: toError(error),
      });
      return;
    }
    const limit = catchupLimit(job);
    const missed = job.schedule.missedTicks(last, startedAt, Math.max(1, limit));
    // Orphans are at or before the last claimed tick, the missed ones after it: oldest first.
    const candidates: { readonly tickAt: number; readonly way: ClaimWay }[] = [
      ...orphans.reverse().map((o) => ({ tickAt: o.tickAt, way: takeOverFrom(o.claimant) })),
      ...missed.newest.map((tickAt) => ({ tickAt, way: CLAIM })),
    ];
    const late = candidates.slice(Math.max(0, candidates.length - limit));
    const freshRun = late.filter((c) => c.way.kind === 'claim').length;
    this.reportMissed(state, missed.count - freshRun, missed.countCapped);
    for (const { tickAt, way } of candidates.slice(0, candidates.length - late.length)) {
      if (way.kind === 'takeOver') await this.dropOrphan(state, tickAt, way.from);
    }
    for (const { tickAt, way } of late) {
      await this.runInTurn(state, { jobName: job.name, tickAt, catchup: true }, way);
    }
  }

  /**
   * Adopts the unfinished ticks of services that died while this one runs (no beat for the
   * lease): without it a tick claimed by a service killed before it ran waits for the next start
   * of some service. A job still catching up is looked at next time; its catch-up reads orphans.
   */
  private async adoptDead(): Promise<void> {
    const { ticks, claimant } = this.options;
    let died: string[];
    try {
      died = (await ticks.diedLately(ADOPT_WINDOW_MS)).filter((c) => c !== claimant);
    } catch (error: unknown) {
      this.events.emit('store:error', { jobName: '', action: 'adopt', error: toError(error) });
      return;
    }
    for (const state of this.jobs) {
      const fresh = died.filter((c) => !state.adoptedFrom.has(c));
      if (fresh.length === 0 || state.phase !== 'live' || state.retired) continue;
      if (this.stateNow !== 'running') return;
      let orphans: TickRecord[];
      try {
        orphans = await ticks.orphans(state.job.name);
      } catch (error: unknown) {
        const jobName = state.job.name;
        this.events.emit('store:error', { jobName, action: 'adopt', error: toError(error) });
        continue;
      }
      for (const c of fresh) state.adoptedFrom.add(c);
      // Not awaited: a long adopted run must not hold up the next look for the other jobs.
      if (orphans.length > 0) this.track(this.adopt(state, orphans));
    }
  }

  /**
   * Runs a running job's orphans (newest first, as read) by its catch-up policy, as a start's
   * catch-up would: the newest `limit` run oldest first, each under the job's `overlap` rule
   * against the tick it is running; the older ones are recorded missed.
   */
  private async adopt(state: JobState, orphans: readonly TickRecord[]): Promise<void> {
    const oldestFirst = [...orphans].reverse();
    const runCount = Math.min(oldestFirst.length, catchupLimit(state.job));
    const dropped = oldestFirst.slice(0, oldestFirst.length - runCount);
    for (const orphan of dropped) await this.dropOrphan(state, orphan.tickAt, orphan.claimant);
    for (const orphan of oldestFirst.slice(oldestFirst.length - runCount)) {
      if (this.stateNow !== 'running' || state.retired) return;
      const tick: Tick = { jobName: state.job.name, tickAt: orphan.tickAt, catchup: true };
      await this.startTick(state, tick, takeOverFrom(orphan.claimant));
    }
  }

  /** Takes over an orphaned claim the catch-up policy does not run, and records it missed. */
  private async dropOrphan(state: JobState, tickAt: number, from: string): Promise<void> {
    const tick: Tick = { jobName: state.job.name, tickAt, catchup: true };
    if (!(await this.claim(state, tick, takeOverFrom(from)))) return;
    const detail = `claimed by ${from}, a service that stopped before running it; not run (catchup: ${state.job.catchup})`;
    if (await this.record(state, tick, { outcome: 'missed', detail })) {
      this.reportMissed(state, 1, false, detail);
    }
  }

  private reportMissed(state: JobState, count: number, capped: boolean, detail?: string): void {
    if (count <= 0) return;
    state.counts.missed += count;
    this.events.emit('tick:missed', {
      jobName: state.job.name,
      count,
      capped,
      ...(detail === undefined ? {} : { detail }),
    });
  }

  /** Starts `tick` after the job's running tick (if any) and waits until it has run. */
  private async runInTurn(state: JobState, tick: Tick, way: ClaimWay = CLAIM): Promise<void> {
    if (this.stateNow !== 'running' || state.retired) return;
    await state.running;
    if (this.stateNow !== 'running' || state.retired) return;
    void this.startTick(state, tick, way);
    await state.running;
  }

  /** Fires `tick` now, or deals with it by the job's `overlap` when a tick is still running. */
  /** Resolves when the tick has been run, skipped or lost (for a caller that runs ticks in turn). */
  private startTick(state: JobState, tick: Tick, way: ClaimWay = CLAIM): Promise<void> {
    const previous = state.running;
    if (previous === undefined) {
      return this.setRunning(state, this.claimAndRun(state, tick, way));
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
      const skipping = this.claimAndSkip(state, tick, way, 'overlap', detail);
      this.track(skipping);
      return skipping;
    }
    state.waiting = tick;
    return this.setRunning(state, this.waitThenRun(state, tick, way, previous));
  }

  private setRunning(state: JobState, work: Promise<void>): Promise<void> {
    state.running = work;
    this.track(work);
    void work.finally(() => {
      if (state.running === work) state.running = undefined;
    });
    return work;
  }

  private async waitThenRun(
    state: JobState,
    tick: Tick,
    way: ClaimWay,
    previous: Promise<void>,
  ): Promise<void> {
    try {
      if (!(await this.claim(state, tick, way))) return;
      this.events.emit('tick:waiting', tick);
      await previous;
    } finally {
      state.waiting = undefined;
    }
    if (this.stateNow !== 'running') {
      const detail = 'the service stopped while the tick waited for the running one';
      if (await this.record(state, tick, { outcome: 'missed', detail })) {
        this.reportMissed(state, 1, false);
      }
      return;
    }
    await this.runClaimed(state, tick);
  }

  private async claimAndRun(state: JobState, tick: Tick, way: ClaimWay): Promise<void> {
    if (!(await this.claim(state, tick, way))) return;
    await this.runClaimed(state, tick);
  }

  private async claimAndSkip(
    state: JobState,
    tick: Tick,
    way: ClaimWay,
    reason: SkipReason,
    detail: string,
  ): Promise<void> {
    // No retries: the job is busy, and a skip's claim only records the skip.
    if (!(await this.claim(state, tick, way, { retry: false }))) return;
    await this.skip(state, tick, reason, detail);
  }

  private async skip(
    state: JobState,
    tick: Tick,
    reason: SkipReason,
    detail: string,
  ): Promise<void> {
    if (!(await this.record(state, tick, { outcome: 'skipped', detail }))) return;
    state.counts.skipped += 1;
    this.events.emit('tick:skipped', { ...tick, reason, detail });
  }

  /**
   * Runs a claimed tick (unless the job is backing off) and records what it came to, while this
   * scheduler still holds its claim: one judged dead meanwhile (frozen, paused, cut off from the
   * store past the lease) finds the tick taken over, and neither runs it nor records over the
   * service that adopted it.
   */
  private async runClaimed(state: JobState, tick: Tick): Promise<void> {
    const { timing } = this.options;
    if (timing.now() < state.backoffUntil) {
      const detail = `backing off after ${state.failures} failed tick${state.failures === 1 ? '' : 's'} in a row, until ${iso(state.backoffUntil)}`;
      await this.skip(state, tick, 'backoff', detail);
      return;
    }
    try {
      // A store that cannot say fails the tick, as it would fail the run's first write.
      if (!(await this.holds(tick))) {
        this.loseClaim(state, tick);
        return;
      }
      state.current = tick;
      state.lastTickAt = Math.max(state.lastTickAt ?? tick.tickAt, tick.tickAt);
      this.events.emit('tick:start', tick);
      const started = timing.monotonic();
      const outcome = await this.options.runTick(tick, this.runAbort.signal);
      await this.finish(state, tick, outcome, timing.monotonic() - started);
    } catch (thrown: unknown) {
      await this.fail(state, tick, toError(thrown));
    } finally {
      state.current = undefined;
    }
  }

  /** Records a run that returned (ran, or skipped by the runner) and counts it if it is ours. */
  private async finish(
    state: JobState,
    tick: Tick,
    outcome: TickRunOutcome,
    durationMs: number,
  ): Promise<void> {
    if (outcome.skipped !== undefined) {
      const result: TickResult = {
        outcome: 'skipped',
        runId: outcome.runId,
        detail: outcome.skipped,
      };
      if (!(await this.record(state, tick, result))) return;
      state.counts.skipped += 1;
      this.events.emit('tick:skipped', { ...tick, reason: 'runner', detail: outcome.skipped });
      return;
    }
    if (!(await this.record(state, tick, { outcome: 'ran', runId: outcome.runId }))) return;
    state.failures = 0;
    state.backoffUntil = 0;
    state.counts.ran += 1;
    this.events.emit('tick:ran', { ...tick, runId: outcome.runId, durationMs });
  }

  /**
   * Records a run that threw: cancelled (by abortRuns, or from above: the service's shutdown),
   * not the job's failure; otherwise a failure that backs the job off. Neither counts when the
   * tick was taken over meanwhile (a run superseded after this service was judged dead).
   */
  private async fail(state: JobState, tick: Tick, error: Error): Promise<void> {
    const { timing } = this.options;
    if (this.runAbort.signal.aborted || error instanceof CancelledError) {
      const result: TickResult = { outcome: 'failed', detail: `cancelled: ${error.message}` };
      if (!(await this.record(state, tick, result))) return;
      state.counts.cancelled += 1;
      this.events.emit('tick:cancelled', { ...tick, error });
      return;
    }
    if (!(await this.record(state, tick, { outcome: 'failed', detail: error.message }))) return;
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
  }

  /**
   * Whether this scheduler still holds the tick's claim. A claim whose claimant's beat lapsed
   * (this process was frozen) may be taken over at any moment: beat first, then ask again, so a
   * `held` answer means no other service can take it before the lease runs out once more.
   */
  private async holds(tick: Tick): Promise<boolean> {
    const { ticks, claimant } = this.options;
    const standing = await ticks.standing(tick.jobName, tick.tickAt, claimant);
    if (standing !== 'lapsed') return standing === 'held';
    await this.beatStore();
    return (await ticks.standing(tick.jobName, tick.tickAt, claimant)) === 'held';
  }

  /** The tick's claim was taken over by another service: counted `taken`, said in the log. */
  private loseClaim(state: JobState, tick: Tick, unrecorded?: TickResult): void {
    state.counts.taken += 1;
    this.events.emit('tick:lost', { ...tick, ...(unrecorded === undefined ? {} : { unrecorded }) });
  }

  /**
   * Claims the tick in the store (or takes it over from its dead claimant); false when another
   * service has it, or when the store kept failing until the retries ran out: then the tick is
   * counted missed with the error, and written missed once the store answers again.
   */
  private async claim(
    state: JobState,
    tick: Tick,
    way: ClaimWay,
    options: { readonly retry?: boolean } = {},
  ): Promise<boolean> {
    const { timing } = this.options;
    const next = state.job.schedule.nextTick(tick.tickAt) ?? Number.POSITIVE_INFINITY;
    const deadline = Math.max(next, timing.now() + CLAIM_RETRY_MIN_SPAN_MS);
    let delay = CLAIM_RETRY_FIRST_MS;
    for (;;) {
      try {
        const won = await this.tryClaim(state, tick, way);
        if (!won) {
          state.counts.taken += 1;
          this.events.emit('tick:taken', tick);
        } else if (way.kind === 'takeOver') {
          this.events.emit('tick:orphaned', { ...tick, from: way.from });
        }
        return won;
      } catch (thrown: unknown) {
        const error = toError(thrown);
        this.events.emit('store:error', { jobName: tick.jobName, action: 'claim', error });
        const retry =
          options.retry !== false &&
          this.stateNow === 'running' &&
          timing.now() + delay <= deadline &&
          (await this.pause(delay));
        if (!retry) {
          this.loseTick(state, tick, error);
          return false;
        }
        delay = Math.min(delay * 2, CLAIM_RETRY_MAX_MS);
      }
    }
  }

  /** One claim attempt: beats first if the store has not heard from this scheduler lately. */
  private async tryClaim(state: JobState, tick: Tick, way: ClaimWay): Promise<boolean> {
    const { ticks, claimant, timing } = this.options;
    const beatAge = timing.monotonic() - (this.storeBeatAt ?? Number.NEGATIVE_INFINITY);
    // A claim must never look dead to another service: past half the lease, beat before it.
    if (beatAge >= CLAIM_LEASE_MS / 2) await this.beatStore();
    await this.flushUnrecorded(state);
    return way.kind === 'claim'
      ? ticks.claim(tick.jobName, tick.tickAt, claimant, { catchup: tick.catchup })
      : ticks.takeOver(tick.jobName, tick.tickAt, way.from, claimant);
  }

  /** Sleeps `ms` unless stopping: false when stop() cut it short. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await this.options.timing.sleep(ms, this.loopAbort.signal);
      return this.stateNow === 'running';
    } catch {
      return false;
    }
  }

  /** A tick the store would not let be claimed in time: counted and logged missed, kept to write. */
  private loseTick(state: JobState, tick: Tick, error: Error): void {
    const detail = `its claim failed on a store error until ${iso(this.options.timing.now())}: ${error.message}`;
    this.reportMissed(state, 1, false, `tick ${iso(tick.tickAt)}: ${detail}`);
    if (state.unrecorded.length < MAX_UNRECORDED)
      state.unrecorded.push({ tickAt: tick.tickAt, detail });
  }

  /** Writes the ticks lost to store errors as missed (unless claimed meanwhile); throws on error. */
  private async flushUnrecorded(state: JobState): Promise<void> {
    while (state.unrecorded.length > 0) {
      const lost = state.unrecorded[0] as { tickAt: number; detail: string };
      await this.options.ticks.recordUnclaimed(
        state.job.name,
        lost.tickAt,
        this.options.claimant,
        lost.detail,
      );
      state.unrecorded.shift();
    }
  }

  /** Tells the store this scheduler is alive, so its unfinished claims are not taken over. */
  private beatStore(): Promise<void> {
    this.storeBeating ??= (async () => {
      const { ticks, claimant, timing } = this.options;
      const at = timing.monotonic();
      this.storeBeatTriedAt = at;
      try {
        const sincePrevious = await ticks.beat(claimant);
        this.storeBeatAt = at;
        if (sincePrevious !== undefined && sincePrevious > CLAIM_LEASE_MS) {
          this.events.emit('beat:lapsed', { silentMs: sincePrevious });
        }
      } catch (error: unknown) {
        this.events.emit('store:error', { jobName: '', action: 'beat', error: toError(error) });
        throw error;
      } finally {
        this.storeBeating = undefined;
      }
    })();
    return this.storeBeating;
  }

  /**
   * Records what became of a tick this scheduler claimed, only while it still holds the claim:
   * false when another service took it over meanwhile (then counted `taken` and said). A store
   * error is reported and counts as recorded: the claim is still this scheduler's, as far as it
   * knows.
   */
  /**
   * A clean stop, every tick recorded: the beat goes, so other services do not take this service
   * for one that died and read every job's claims looking for its orphans.
   */
  private async leaveStore(): Promise<void> {
    try {
      await this.options.ticks.leave(this.options.claimant);
    } catch (error: unknown) {
      this.events.emit('store:error', { jobName: '', action: 'leave', error: toError(error) });
    }
  }

  private async record(state: JobState, tick: Tick, result: TickResult): Promise<boolean> {
    const { ticks, claimant } = this.options;
    try {
      if (await ticks.record(tick.jobName, tick.tickAt, claimant, result)) return true;
    } catch (error: unknown) {
      this.events.emit('store:error', {
        jobName: tick.jobName,
        action: 'record',
        error: toError(error),
      });
      return true;
    }
    this.loseClaim(state, tick, result);
    return false;
  }

  private setNext(state: JobState, tickAt: number | undefined): void {
    state.nextTickAt = tickAt;
    this.events.emit('tick:next', { jobName: state.job.name, tickAt });
  }
}
