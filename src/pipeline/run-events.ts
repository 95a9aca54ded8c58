import { EventEmitter } from 'node:events';
import type { JobRun, RunProgress, RunStatus, Store } from '../store/store.js';
import type { RequestOutcome } from './policies/provider-call.js';

/** Progress of a run as the runner counts it. */
export interface RunTotals extends RunProgress {
  readonly rejected: number;
  /** Backfill chunks stored short of their window, to be fetched again by the next run. */
  readonly incompleteChunks: number;
  /** Backfill chunks fetched within the provider's publication delay, fetched again next run. */
  readonly provisionalChunks: number;
}

export interface RunEndEvent {
  readonly run: JobRun;
  readonly status: Exclude<RunStatus, 'running' | 'abandoned'>;
  readonly totals: RunTotals;
  readonly durationMs: number;
  readonly error?: Error;
}

/** The runner's lifecycle, as typed events; telemetry and output subscribe instead of being called. */
export interface RunEventMap {
  'run:start': [{ run: JobRun }];
  'run:progress': [{ run: JobRun; totals: RunTotals }];
  /** The store accepted a heartbeat: the run's `job_runs.heartbeat_at` is now about `at` (epoch ms). */
  'run:heartbeat': [{ run: JobRun; at: number }];
  'run:end': [RunEndEvent];
  'batch:written': [
    { jobName: string; provider: string; storage: Store['kind']; rows: number; durationMs: number },
  ];
  /** A storage call failed; `kind` is a bounded label (the StoreError code without its prefix). */
  'storage:error': [{ storage: Store['kind']; kind: string; error: Error; willRetry: boolean }];
  'provider:request': [RequestOutcome];
  'provider:retry': [{ provider: string; attempt: number; delayMs: number; error: Error }];
  /** A request waited `waitMs` for its provider's pacing budget (shared bucket or cooldown). */
  'provider:paced': [{ provider: string; waitMs: number }];
  'bars:rejected': [{ provider: string; reason: string; count: number }];
  /** Bars of a job waiting in the spool for the primary storage to come back. */
  'spool:depth': [{ jobName: string; bars: number }];
  /** A backfill chunk's answer stayed short of its window: recorded incomplete, fetched again next run. */
  'chunk:incomplete': [{ jobName: string; provider: string; symbol: string }];
}

/** The event bus of one process's runs. */
export class RunEvents extends EventEmitter<RunEventMap> {}
