import { didYouMean } from '../../core/config/did-you-mean.js';
import { UsageError } from '../../core/errors.js';
import type { RunMode } from '../../store/store.js';

/** What is wrong with a request to run a job, with the facts a caller needs to word it. */
export type RunRequestProblem =
  | {
      readonly kind: 'unknown_job';
      readonly jobName: string;
      readonly configFile: string;
      readonly known: readonly string[];
    }
  | {
      readonly kind: 'wrong_mode';
      readonly jobName: string;
      readonly jobMode: RunMode;
      readonly requested: RunMode;
    }
  | { readonly kind: 'follow_needs_live'; readonly jobName: string }
  | { readonly kind: 'no_backfill_start'; readonly jobName: string }
  | {
      readonly kind: 'empty_window';
      readonly jobName: string;
      readonly start: number;
      readonly end: number;
    };

/**
 * A run was asked for that cannot be: thrown before any run is recorded. Its message is worded for
 * any caller (the service's log); cli words it in its own terms (flags, commands) from `problem`.
 */
export class RunRequestError extends UsageError {
  constructor(readonly problem: RunRequestProblem) {
    super(describeRunRequestProblem(problem));
  }
}

function describeRunRequestProblem(problem: RunRequestProblem): string {
  switch (problem.kind) {
    case 'unknown_job':
      return `no job "${problem.jobName}" in ${problem.configFile}${didYouMean(problem.jobName, [...problem.known])}; jobs: ${problem.known.join(', ') || '(none)'}`;
    case 'wrong_mode':
      return `job "${problem.jobName}" is a ${problem.jobMode} job, not a ${problem.requested} job`;
    case 'follow_needs_live':
      return `job "${problem.jobName}": following applies to live jobs only`;
    case 'no_backfill_start':
      return `job "${problem.jobName}" has no backfill.start: set it in the config or give the run a start`;
    case 'empty_window':
      return `the backfill window is empty: ${new Date(problem.start).toISOString()} → ${new Date(problem.end).toISOString()} (the end must be after the start and bars must have closed)`;
  }
}
