import { Counter, Gauge, type Registry } from 'prom-client';
import { subscribe, type SchedulerEvents, type SchedulerListeners } from './scheduler-events.js';

/** What became of a tick, as the `outcome` label of `pipeline_schedule_ticks_total`. */
export const TICK_METRIC_OUTCOMES = [
  'ran',
  'skipped',
  'missed',
  'failed',
  'taken',
  'cancelled',
] as const;

export type TickMetricOutcome = (typeof TICK_METRIC_OUTCOMES)[number];

/**
 * The scheduler's Prometheus series, in the process's registry: each job's next and last tick,
 * and its ticks by outcome (started at 0 for the configured jobs, so `increase()` sees the first).
 */
export class SchedulerMetrics {
  readonly nextTick: Gauge<'job_name'>;
  readonly lastTick: Gauge<'job_name'>;
  readonly ticks: Counter<'job_name' | 'outcome'>;
  readonly adopted: Counter<'job_name'>;
  private jobNames: readonly string[] = [];

  constructor(registry: Registry, jobNames: readonly string[]) {
    this.nextTick = new Gauge({
      name: 'pipeline_schedule_next_tick_timestamp_seconds',
      help: "The scheduled job's next tick, Unix seconds (absent when its schedule never fires again).",
      labelNames: ['job_name'] as const,
      registers: [registry],
    });
    this.lastTick = new Gauge({
      name: 'pipeline_schedule_last_tick_timestamp_seconds',
      help: 'The newest tick of the scheduled job this service started, Unix seconds.',
      labelNames: ['job_name'] as const,
      registers: [registry],
    });
    this.ticks = new Counter({
      name: 'pipeline_schedule_ticks_total',
      help: 'Ticks of scheduled jobs by what became of them: ran, skipped (overlap, backoff), missed (catch-up policy), failed, taken (claimed by another service first, or taken over from this one while it was judged dead), cancelled.',
      labelNames: ['job_name', 'outcome'] as const,
      registers: [registry],
    });
    this.adopted = new Counter({
      name: 'pipeline_schedule_ticks_adopted_total',
      help: 'Ticks of scheduled jobs adopted from a service that died (no beat for a minute) before recording them; each then also counts in pipeline_schedule_ticks_total by what became of it.',
      labelNames: ['job_name'] as const,
      registers: [registry],
    });
    this.reconfigure(jobNames);
  }

  /**
   * Makes `jobNames` the scheduled jobs (at the start and at each reload): an added job's tick
   * series start at 0, and a removed job's next and last tick leave /metrics rather than stay
   * frozen in the past. Its tick counts stay: a counter that vanished would read as a reset.
   */
  reconfigure(jobNames: readonly string[]): void {
    for (const job of jobNames) {
      if (this.jobNames.includes(job)) continue;
      for (const outcome of TICK_METRIC_OUTCOMES) this.ticks.inc({ job_name: job, outcome }, 0);
      this.adopted.inc({ job_name: job }, 0);
    }
    for (const job of this.jobNames) {
      if (jobNames.includes(job)) continue;
      this.nextTick.remove({ job_name: job });
      this.lastTick.remove({ job_name: job });
    }
    this.jobNames = [...jobNames];
  }

  /** Moves the series with the scheduler's events; returns a function that stops listening. */
  observe(events: SchedulerEvents): () => void {
    const count =
      (outcome: TickMetricOutcome) =>
      (event: { jobName: string }): void =>
        this.ticks.inc({ job_name: event.jobName, outcome });
    const listeners: SchedulerListeners = {
      'tick:next': (event: { jobName: string; tickAt: number | undefined }) => {
        if (event.tickAt === undefined) this.nextTick.remove({ job_name: event.jobName });
        else this.nextTick.set({ job_name: event.jobName }, event.tickAt / 1000);
      },
      'tick:start': (event: { jobName: string; tickAt: number }) =>
        this.lastTick.set({ job_name: event.jobName }, event.tickAt / 1000),
      'tick:missed': (event: { jobName: string; count: number }) =>
        this.ticks.inc({ job_name: event.jobName, outcome: 'missed' }, event.count),
      'tick:ran': count('ran'),
      'tick:skipped': count('skipped'),
      'tick:failed': count('failed'),
      'tick:taken': count('taken'),
      'tick:lost': count('taken'),
      'tick:cancelled': count('cancelled'),
      'tick:orphaned': (event: { jobName: string }) =>
        this.adopted.inc({ job_name: event.jobName }),
    };
    return subscribe(events, listeners);
  }
}
