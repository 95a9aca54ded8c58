import type { MdpConfig } from '../core/config/load-config.js';
import { CronSchedule } from '../core/cron-schedule.js';

/** What a missed tick does at a start: see the job's `catchup:`. */
export type CatchupPolicy = MdpConfig['jobs'][string]['catchup'];

/** What a tick does when its job is still running: see the job's `overlap:`. */
export type OverlapPolicy = MdpConfig['jobs'][string]['overlap'];

/** A job as the scheduler sees it: its name, its ticks and its policies. */
export interface ScheduledJob {
  readonly name: string;
  readonly schedule: CronSchedule;
  readonly catchup: CatchupPolicy;
  /** The most missed ticks `catchup: all` runs at once. */
  readonly catchupLimit: number;
  readonly overlap: OverlapPolicy;
}

/** The jobs of a config that have a `schedule:`, in config order. */
export function scheduledJobsOf(config: MdpConfig): ScheduledJob[] {
  const jobs: ScheduledJob[] = [];
  for (const [name, job] of Object.entries(config.jobs)) {
    if (job.schedule === undefined) continue;
    jobs.push({
      name,
      schedule: new CronSchedule(job.schedule, job.timezone),
      catchup: job.catchup,
      catchupLimit: job.catchup_limit,
      overlap: job.overlap,
    });
  }
  return jobs;
}
