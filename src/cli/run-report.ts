import { formatDuration } from '../core/duration.js';
import type { RunEndEvent } from '../pipeline/run-events.js';
import type { BackfillPlanSummary } from '../pipeline/runner/backfill-job.js';
import type { LivePlanSummary } from '../pipeline/runner/live-job.js';
import type { RunSummary } from '../pipeline/runner/job-runner.js';

const count = (n: number): string => n.toLocaleString('en-US');
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** `1.23 s` / `2m 05s` for a run's duration. */
export function formatElapsed(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return minutes < 60
    ? `${minutes}m ${String(seconds).padStart(2, '0')}s`
    : `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** The line printed at the end of every run, whatever its outcome. */
export function formatRunEnd(end: RunEndEvent): string {
  const { run, totals, durationMs } = end;
  const rate = durationMs > 0 ? Math.round((totals.rowsWritten / durationMs) * 1000) : 0;
  const dry = run.dryRun ? ' (dry run)' : '';
  const line =
    `run ${run.runId} ${run.jobName}${dry} ${end.status}: ${count(totals.rowsWritten)} rows written, ` +
    `${count(totals.rejected)} rejected, ${count(totals.batches)} batches in ${formatElapsed(durationMs)} ` +
    `(${count(rate)} bars/s)`;
  const notes = [line];
  if (totals.incompleteChunks > 0) {
    notes.push(
      `${chunkCount(totals.incompleteChunks)} stayed short of the provider's window and ${totals.incompleteChunks === 1 ? 'is' : 'are'} recorded ` +
        'incomplete (mdp status lists them); the next run fetches them again',
    );
  }
  if (totals.provisionalChunks > 0) {
    notes.push(
      `${chunkCount(totals.provisionalChunks)} ${totals.provisionalChunks === 1 ? 'is' : 'are'} provisional: ` +
        "they end within the provider's publication_delay, so bars may still be published into them " +
        '(mdp status lists them); the next run fetches them again',
    );
  }
  return notes.join('\n');
}

const chunkCount = (n: number): string => (n === 1 ? '1 chunk' : `${count(n)} chunks`);

/** The plan a dry run (or the start of a run) describes. */
export function formatPlan(plan: BackfillPlanSummary | LivePlanSummary): string {
  if (plan.kind === 'backfill') {
    // A batch of symbols takes one page or many, depending on how many bars the provider has.
    const range = plan.requestsMax > plan.requests;
    const requests = range
      ? `${count(plan.requests)} to ${count(plan.requestsMax)} (symbols sharing a window go together; pages depend on the bars the provider has)`
      : count(plan.requests);
    const pacing = range
      ? `${formatElapsed(plan.pacingMs)} to ${formatElapsed(plan.pacingMaxMs)}`
      : formatElapsed(plan.pacingMs);
    return [
      `backfill plan: ${iso(plan.start)} → ${iso(plan.end)} in chunks of ${formatDuration(plan.chunkMs)}`,
      `  chunks: ${count(plan.chunks)} (${count(plan.done)} already done, ${count(plan.toFetch)} to fetch)`,
      `  requests: ${requests}, bars expected: ${count(plan.barsExpected)}, pacing budget needs ${pacing}`,
    ].join('\n');
  }
  const requests = plan.requests === 1 ? '1 request' : `${count(plan.requests)} requests`;
  const lines = [`live plan: ${requests}, pacing budget needs ${formatElapsed(plan.pacingMs)}`];
  for (const series of plan.series) {
    lines.push(
      `  ${series.symbol}: ${iso(series.start)} → ${iso(series.end)} (${count(series.bars)} bars)`,
    );
  }
  return lines.join('\n');
}

/** Notes that belong after the summary line. */
export function formatNotes(summary: RunSummary): string[] {
  const notes: string[] = [];
  if (summary.dryRun) notes.push('dry run: no bars or checkpoints were written');
  else if (!summary.writeEnabled) {
    notes.push(
      `features.write_enabled is false: ${count(summary.skipped)} bars were fetched and validated but not written`,
    );
  }
  return notes;
}
