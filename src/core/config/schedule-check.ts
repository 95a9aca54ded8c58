/** Keys that only mean something beside `schedule:`. */
const SCHEDULE_ONLY_KEYS = ['timezone', 'catchup', 'catchup_limit', 'overlap'] as const;

/** A schedule rule broken at `path` (a CrossIssue; declared here so the two files stay acyclic). */
export interface ScheduleIssue {
  readonly path: string[];
  readonly message: string;
}

const isTrue = (value: unknown): boolean => value === true || value === 'true';

/**
 * The rules between a job's `schedule`, `follow` and `mode`, found on the merged config before
 * schema defaults (a default timezone must not count as written).
 */
export function scheduleIssues(name: string, job: Record<string, unknown>): ScheduleIssue[] {
  const issues: ScheduleIssue[] = [];
  const scheduled = job.schedule !== undefined;
  if (isTrue(job.follow)) {
    if (job.mode === 'backfill') {
      issues.push({
        path: ['jobs', name, 'follow'],
        message:
          'only a live job can be followed (a backfill ends with its window); remove follow, or give the job a schedule: to run it again at set times',
      });
    }
    if (scheduled) {
      issues.push({
        path: ['jobs', name, 'follow'],
        message:
          'a followed job runs all the time, so a schedule: would never find it idle; keep one of follow: true and schedule:',
      });
    }
  }
  if (!scheduled) {
    for (const key of SCHEDULE_ONLY_KEYS) {
      if (job[key] === undefined) continue;
      issues.push({
        path: ['jobs', name, key],
        message: `${key} applies to a job's schedule:, and this job has none; add schedule: (a cron expression such as "30 18 * * 1-5") or remove ${key}`,
      });
    }
  }
  return issues;
}
