import type { RunRequestProblem } from '../pipeline/runner/run-request-error.js';

/** A refused run request in the command line's terms: its commands and flags. */
export function runRequestMessage(problem: RunRequestProblem, fallback: string): string {
  switch (problem.kind) {
    case 'wrong_mode': {
      const command = problem.jobMode === 'live' ? 'mdp run' : 'mdp backfill';
      return `job "${problem.jobName}" is a ${problem.jobMode} job: run it with ${command}`;
    }
    case 'follow_needs_live':
      return '--follow applies to live jobs only';
    case 'no_backfill_start':
      return `job "${problem.jobName}" has no backfill.start: set it in the config or pass --from`;
    case 'unknown_job':
    case 'empty_window':
      return fallback;
  }
}
