import type { Checkpoint, JobRun, JobSummary } from '../store/store.js';
import { formatElapsed } from './run-report.js';
import { formatTable } from './text-table.js';

/** A job's summary with what only this machine knows: bars in its local spool. */
export interface JobStatus extends JobSummary {
  /** Bars of the job in `storage.spool`, waiting for the primary; 0 without a spool. */
  readonly spoolBars: number;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const count = (n: number): string => n.toLocaleString('en-US');

/** Incomplete chunks listed one by one in the text view; the rest are counted. */
const LISTED_CHUNKS = 10;

function runCell(run: JobRun | undefined): string {
  return run === undefined ? 'never' : `${run.runId} ${run.status} ${iso(run.startedAt)}`;
}

function rejectedCell(byReason: Readonly<Record<string, number>>): string {
  const entries = Object.entries(byReason);
  return entries.length === 0 ? '-' : entries.map(([r, n]) => `${r} ${count(n)}`).join(', ');
}

function chunkLine(chunk: Checkpoint): string {
  const expected = chunk.expectedRows === null ? '' : ` of ${count(chunk.expectedRows)}`;
  return (
    `  ${chunk.symbol} ${chunk.interval} ${iso(chunk.windowStart)} → ${iso(chunk.windowEnd)}: ` +
    `${count(chunk.rows)}${expected} bars (run ${chunk.runId})`
  );
}

/**
 * Per job: last run, last success, the active run with its heartbeat age, incomplete chunks,
 * rejected bars by reason and spooled bars; then the incomplete chunks themselves.
 */
export function formatJobStatuses(jobs: readonly JobStatus[], now: number): string {
  const header = [
    'JOB',
    'LAST RUN',
    'LAST SUCCESS',
    'RUNNING',
    'INCOMPLETE',
    'SPOOLED',
    'REJECTED',
  ];
  const rows = jobs.map((job) => [
    job.jobName,
    runCell(job.lastRun),
    job.lastSuccess === undefined
      ? 'never'
      : `${job.lastSuccess.runId} ${iso(job.lastSuccess.startedAt)}`,
    job.running === undefined
      ? '-'
      : `${job.running.runId} (pid ${job.running.pid}, heartbeat ${formatElapsed(Math.max(0, now - job.running.heartbeatAt))} ago)`,
    String(job.incompleteChunks.length),
    job.spoolBars === 0 ? '-' : `${count(job.spoolBars)} bars`,
    rejectedCell(job.rejectedByReason),
  ]);
  const lines = [formatTable([header, ...rows])];
  for (const job of jobs) {
    const chunks = job.incompleteChunks;
    if (chunks.length === 0) continue;
    lines.push(
      '',
      `incomplete chunks of ${job.jobName} (${chunks.length}; the next backfill fetches them again):`,
      ...chunks.slice(0, LISTED_CHUNKS).map(chunkLine),
    );
    if (chunks.length > LISTED_CHUNKS) lines.push(`  … and ${chunks.length - LISTED_CHUNKS} more`);
  }
  return lines.join('\n');
}

function runRef(run: JobRun | undefined): Record<string, unknown> | null {
  if (run === undefined) return null;
  return {
    run_id: run.runId,
    status: run.status,
    dry_run: run.dryRun,
    started_at: iso(run.startedAt),
    completed_at: run.completedAt === null ? null : iso(run.completedAt),
  };
}

/** The `jobs` entries of `mdp status --json`. */
export function jobStatusJson(job: JobStatus, now: number): Record<string, unknown> {
  return {
    job_name: job.jobName,
    last_run: runRef(job.lastRun),
    last_success: runRef(job.lastSuccess),
    running:
      job.running === undefined
        ? null
        : {
            run_id: job.running.runId,
            pid: job.running.pid,
            host: job.running.host,
            started_at: iso(job.running.startedAt),
            heartbeat_at: iso(job.running.heartbeatAt),
            heartbeat_age_seconds: Math.max(0, now - job.running.heartbeatAt) / 1000,
          },
    incomplete_chunks: job.incompleteChunks.map((chunk) => ({
      provider: chunk.provider,
      symbol: chunk.symbol,
      interval: chunk.interval,
      window_start: iso(chunk.windowStart),
      window_end: iso(chunk.windowEnd),
      rows: chunk.rows,
      expected_rows: chunk.expectedRows,
      run_id: chunk.runId,
    })),
    rejected_by_reason: job.rejectedByReason,
    spool_bars: job.spoolBars,
  };
}
