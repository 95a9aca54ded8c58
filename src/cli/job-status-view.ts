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

/** Incomplete or provisional chunks listed one by one in the text view; the rest are counted. */
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

/** The text lines of one kind of chunk of a job, at most LISTED_CHUNKS of them, then a count. */
function chunkLines(title: string, chunks: readonly Checkpoint[]): string[] {
  if (chunks.length === 0) return [];
  const lines = ['', `${title} (${chunks.length}; the next backfill fetches them again):`];
  lines.push(...chunks.slice(0, LISTED_CHUNKS).map(chunkLine));
  if (chunks.length > LISTED_CHUNKS) lines.push(`  … and ${chunks.length - LISTED_CHUNKS} more`);
  return lines;
}

/**
 * Per job: last run, last success, the active run with its heartbeat age, incomplete and
 * provisional chunks, rejected bars by reason and spooled bars; then those chunks themselves.
 */
export function formatJobStatuses(jobs: readonly JobStatus[], now: number): string {
  const header = [
    'JOB',
    'LAST RUN',
    'LAST SUCCESS',
    'RUNNING',
    'INCOMPLETE',
    'PROVISIONAL',
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
    String(job.provisionalChunks.length),
    job.spoolBars === 0 ? '-' : `${count(job.spoolBars)} bars`,
    rejectedCell(job.rejectedByReason),
  ]);
  const lines = [formatTable([header, ...rows])];
  for (const job of jobs) {
    lines.push(...chunkLines(`incomplete chunks of ${job.jobName}`, job.incompleteChunks));
    lines.push(
      ...chunkLines(
        `provisional chunks of ${job.jobName}, within the provider's publication_delay`,
        job.provisionalChunks,
      ),
    );
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

function chunkJson(chunk: Checkpoint): Record<string, unknown> {
  return {
    provider: chunk.provider,
    symbol: chunk.symbol,
    interval: chunk.interval,
    window_start: iso(chunk.windowStart),
    window_end: iso(chunk.windowEnd),
    rows: chunk.rows,
    expected_rows: chunk.expectedRows,
    run_id: chunk.runId,
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
    incomplete_chunks: job.incompleteChunks.map(chunkJson),
    provisional_chunks: job.provisionalChunks.map(chunkJson),
    rejected_by_reason: job.rejectedByReason,
    spool_bars: job.spoolBars,
  };
}
