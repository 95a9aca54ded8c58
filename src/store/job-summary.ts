import type { Checkpoint, JobRun, JobSummary } from './store.js';

/** What a backend reads for one job's summary, in one snapshot, already as protocol values. */
export interface JobSummaryParts {
  readonly lastRun: JobRun | undefined;
  readonly lastSuccess: JobRun | undefined;
  readonly running: JobRun | undefined;
  readonly incompleteChunks: readonly Checkpoint[];
  readonly provisionalChunks: readonly Checkpoint[];
  /** One row per reason, as `GROUP BY reason` counts them. */
  readonly rejected: Iterable<{ readonly reason: string; readonly n: number }>;
}

/** The JobSummary `mdp status` shows, built the same way from every backend's reads. */
export function jobSummaryOf(jobName: string, parts: JobSummaryParts): JobSummary {
  const rejectedByReason: Record<string, number> = {};
  for (const { reason, n } of parts.rejected) rejectedByReason[reason] = n;
  return {
    jobName,
    lastRun: parts.lastRun,
    lastSuccess: parts.lastSuccess,
    running: parts.running,
    incompleteChunks: parts.incompleteChunks,
    provisionalChunks: parts.provisionalChunks,
    rejectedByReason,
  };
}
