import { JobSupersededError, type SuccessorRun } from '../core/errors.js';

/** What the fence reads of the run committing a batch: the row as it stands now. */
export interface FencedRun {
  readonly run_id: number;
  readonly job_name: string;
  readonly status: string;
  readonly error: string | null;
}

/** The run holding a job now, as the fence finds it; `job_name` only for a run without a row. */
export interface SuccessorRow extends SuccessorRun {
  readonly job_name?: string;
}

/**
 * Names the run that lost its job, why, and who took it over; the same text in every backend.
 * `run` undefined: the run's row is gone (deleted by hand), and a run that is not recorded holds
 * no job.
 */
export function jobSupersededError(
  runId: number,
  run: FencedRun | undefined,
  successor: SuccessorRow | undefined,
): JobSupersededError {
  const holder =
    successor === undefined
      ? undefined
      : { runId: successor.runId, host: successor.host, pid: successor.pid };
  const by =
    holder === undefined ? '' : `run ${holder.runId} (pid ${holder.pid} on ${holder.host})`;
  const stops = 'It commits nothing more and stops here; what it had committed stays.';
  if (run === undefined) {
    const of = successor?.job_name === undefined ? '' : ` of job ${successor.job_name}`;
    return new JobSupersededError(
      runId,
      holder,
      `run ${runId} has no row in job_runs (deleted by hand?): a run that is not recorded holds ` +
        `no job${holder === undefined ? '' : `, and ${by}${of} is running`}. ${stops} ` +
        `Never delete the row of a running run: stop its process (Ctrl-C or SIGTERM), or let ` +
        `three missed heartbeats mark it abandoned.`,
    );
  }
  const why = run.error === null ? '' : ` (${run.error})`;
  const takenBy =
    holder === undefined ? 'no run has taken the job over yet' : `${by} took the job over`;
  return new JobSupersededError(
    runId,
    holder,
    `run ${runId} of job ${run.job_name} was superseded: it is marked ${run.status}${why} ` +
      `and ${takenBy}. ${stops} ` +
      `A run is judged abandoned after 3 missed heartbeats: if this process was not frozen ` +
      `(stopped, swapping, a paused VM), raise execution.heartbeat_interval.`,
  );
}
