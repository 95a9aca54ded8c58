import { CronSchedule } from '../../src/core/cron-schedule.js';
import type { ScheduledJob } from '../../src/service/scheduled-job.js';

/**
 * A scheduled job as the Scheduler takes it, with the config's defaults (catchup: latest, limit
 * 10, overlap: skip); `overrides` changes any of them. The zone is UTC unless `timezone` says.
 */
export function scheduledJob(
  name: string,
  expression: string,
  overrides: Partial<ScheduledJob> = {},
  timezone = 'UTC',
): ScheduledJob {
  return {
    name,
    schedule: new CronSchedule(expression, timezone),
    catchup: 'latest',
    catchupLimit: 10,
    overlap: 'skip',
    ...overrides,
  };
}
