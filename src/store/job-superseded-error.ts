import { JobSupersededError, type SuccessorRun } from '../core/errors.js';

/** What the fence reads of the run committing a batch: the row as it stands now. */
export interface FencedRun {
  readonly run_id: number;
  readonly job_name: string;
  readonly status: string;
  readonly error: string | null;
}

/** What the fence reports of a run whose row is gone (deleted by hand): it holds no job. */
export function missingRun(runId: number): FencedRun {
  return { run_id: runId, job_name: '(unknown)', status: 'missing', error: 'no row in job_runs' };
}

/** Names the run that lost its job, why, and who took it over; the same text in every backend. */
export function jobSupersededError(
  run: FencedRun,
  successor: SuccessorRun | undefined,
): JobSupersededError {
  const why = run.error === null ? '' : ` (${run.error})`;
  const takenBy =
    successor === undefined
      ? 'no run has taken the job over yet'
      : `run ${successor.runId} (pid ${successor.pid} on ${successor.host}) took the job over`;
  return new JobSupersededError(
    run.run_id,
    successor,
    `run ${run.run_id} of job ${run.job_name} was superseded: it is marked ${run.status}${why} ` +
      `and ${takenBy}. It commits nothing more and stops here; what it had committed stays. ` +
      `A run is judged abandoned after 3 missed heartbeats: if this process was not frozen ` +
      `(stopped, swapping, a paused VM), raise execution.heartbeat_interval.`,
  );
}
