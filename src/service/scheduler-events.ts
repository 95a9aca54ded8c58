import { EventEmitter } from 'node:events';
import type { TickResult } from '../store/tick-claims.js';

/** One tick of a scheduled job, as the scheduler hands it to the job's runner. */
export interface Tick {
  readonly jobName: string;
  /** The tick's time by the schedule, epoch ms (not when it fired). */
  readonly tickAt: number;
  /** True for a tick missed while no service ran (or the process slept), run late. */
  readonly catchup: boolean;
}

/** Why a claimed tick did not start a run. */
export type SkipReason = 'overlap' | 'backoff' | 'runner';

/** The scheduler's lifecycle, as typed events: the log and the metrics subscribe to them. */
export interface SchedulerEventMap {
  /** The job's next tick is now `tickAt` (undefined: its schedule never fires again). */
  'tick:next': [{ jobName: string; tickAt: number | undefined }];
  /**
   * Ticks that passed while no service ran (or this one slept) and are not run, by the job's
   * catchup policy; `capped`: counting stopped at `count`, there were more. `detail` says why when
   * it is not the policy (a claim the store kept failing, a dead service's claim not run).
   */
  'tick:missed': [{ jobName: string; count: number; capped: boolean; detail?: string }];
  /**
   * A tick claimed by a service that stopped before recording what became of it (`from`, its
   * claimant, no beat for the lease) is adopted by this scheduler, at its start or while it runs:
   * it runs as a catch-up, or is recorded missed, by the job's catch-up policy.
   */
  'tick:orphaned': [Tick & { from: string }];
  /** Another service claimed the tick first: it runs there, not here. */
  'tick:taken': [Tick];
  /**
   * Another service took over a tick this scheduler had claimed, having judged it dead (no beat
   * for the lease: the process frozen, paused or cut off from the store): found before its run
   * started (not run here), or when recording `unrecorded`, the outcome of its run here, which is
   * not recorded (the adopter's record stands).
   */
  'tick:lost': [Tick & { unrecorded?: TickResult }];
  /**
   * This scheduler's beat found its previous one `silentMs` old, past the lease: other services
   * judged it dead meanwhile and may have taken over its claimed ticks.
   */
  'beat:lapsed': [{ silentMs: number }];
  /** A claimed tick starts its run. */
  'tick:start': [Tick];
  /** A claimed tick waits for the job's running tick to end (`overlap: wait`). */
  'tick:waiting': [Tick];
  'tick:ran': [Tick & { runId: number | undefined; durationMs: number }];
  'tick:skipped': [Tick & { reason: SkipReason; detail: string }];
  /** The tick's run failed; the job backs off until `backoffUntil` after `failures` in a row. */
  'tick:failed': [Tick & { error: Error; failures: number; backoffUntil: number }];
  /** The tick's run was cancelled by the scheduler's stop (not a failure of the job). */
  'tick:cancelled': [Tick & { error: Error }];
  /**
   * A store call of the scheduler itself failed: a claim is retried until the job's next tick
   * (then the tick is missed), a record, beat or leave (at the stop) is not, a look for dead
   * claimants to adopt from is tried at the next sweep; `jobName` is empty for a beat, a leave
   * and a look at the claimants.
   */
  'store:error': [
    {
      jobName: string;
      action: 'claim' | 'record' | 'lastTick' | 'beat' | 'adopt' | 'leave';
      error: Error;
    },
  ];
}

/** The event bus of one scheduler. */
export class SchedulerEvents extends EventEmitter<SchedulerEventMap> {}

/** Listeners for some of the scheduler's events, typed by event. */
export type SchedulerListeners = {
  readonly [K in keyof SchedulerEventMap]?: (...args: SchedulerEventMap[K]) => void;
};

/** Adds `listeners` to `events`; returns the function that removes them all. */
export function subscribe(events: SchedulerEvents, listeners: SchedulerListeners): () => void {
  // TypeScript cannot pair each key with its own listener in a loop: the bus is used untyped.
  const untyped = events as unknown as EventEmitter;
  const entries = Object.entries(listeners) as [string, (...args: unknown[]) => void][];
  for (const [name, listener] of entries) untyped.on(name, listener);
  return () => {
    for (const [name, listener] of entries) untyped.off(name, listener);
  };
}
