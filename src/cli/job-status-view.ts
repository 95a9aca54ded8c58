import { isoSeconds, type JobStatus } from '../store/status-json.js';
import type { Checkpoint, JobRun } from '../store/store.js';
import type { TickRecord } from '../store/tick-claims.js';
import { formatElapsed } from './run-report.js';
import { formatTable } from './text-table.js';

const count = (n: number): string => n.toLocaleString('en-US');

/** Incomplete or provisional chunks listed one by one in the text view; the rest are counted. */
const LISTED_CHUNKS = 10;

function runCell(run: JobRun | undefined): string {
  return run === undefined ? 'never' : `${run.runId} ${run.status} ${isoSeconds(run.startedAt)}`;
}

function rejectedCell(byReason: Readonly<Record<string, number>>): string {
  const entries = Object.entries(byReason);
  return entries.length === 0 ? '-' : entries.map(([r, n]) => `${r} ${count(n)}`).join(', ');
}

function chunkLine(chunk: Checkpoint): string {
  const expected = chunk.expectedRows === null ? '' : ` of ${count(chunk.expectedRows)}`;
  return (
    `  ${chunk.symbol} ${chunk.interval} ${isoSeconds(chunk.windowStart)} → ${isoSeconds(chunk.windowEnd)}: ` +
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
      : `${job.lastSuccess.runId} ${isoSeconds(job.lastSuccess.startedAt)}`,
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

/** The last tick in words: `2026-12-01T18:00:00Z ran (run 12)`, with a catch-up marked. */
function tickCell(tick: TickRecord | undefined): string {
  if (tick === undefined) return 'never';
  // No outcome: being run, unless its claimant stopped beating (it died before recording).
  const outcome =
    tick.outcome ?? (tick.claimantAlive ? 'running' : 'claimed by a service that stopped');
  const run = tick.runId === null ? '' : ` (run ${tick.runId})`;
  return `${isoSeconds(tick.tickAt)} ${outcome}${run}${tick.catchup ? ', catch-up' : ''}`;
}

/**
 * Per job `mdp serve` runs: its schedule and zone, next tick and last claimed tick (or that it is
 * followed); undefined when the config schedules and follows nothing.
 */
export function formatServing(jobs: readonly JobStatus[]): string | undefined {
  const rows: string[][] = [];
  for (const job of jobs) {
    const serving = job.serving;
    if (serving === undefined) continue;
    rows.push(
      serving.kind === 'follow'
        ? [job.jobName, 'follow', '-', '-']
        : [
            job.jobName,
            `${serving.expression} ${serving.timeZone}`,
            serving.nextTickAt === undefined ? 'never' : isoSeconds(serving.nextTickAt),
            tickCell(serving.lastTick),
          ],
    );
  }
  if (rows.length === 0) return undefined;
  return formatTable([['JOB', 'SCHEDULE', 'NEXT TICK', 'LAST TICK'], ...rows]);
}
