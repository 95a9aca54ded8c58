import type { JobRun } from '../../store/store.js';
import {
  barsInWindow,
  chunkLengthMs,
  CheckpointIndex,
  planChunks,
  type Chunk,
} from './backfill-plan.js';
import { fetchChunkBatch } from './fetch-chunk.js';
import type { JobContext } from './job-context.js';
import { publicationEdge, splitAtPublicationEdge } from './publication-edge.js';
import { runPool } from './run-pool.js';
import { batchChunks, symbolsPerBatch } from './symbol-batches.js';

/** The window a backfill covers, after `--from/--to` and the last closed bar are applied. */
export interface BackfillWindow {
  readonly start: number;
  readonly end: number;
  /** `backfill.chunk` from the config, when set. */
  readonly chunkMs: number | undefined;
}

/** What a backfill will do (dry run) or did. */
export interface BackfillPlanSummary {
  readonly kind: 'backfill';
  readonly start: number;
  readonly end: number;
  readonly chunkMs: number;
  readonly chunks: number;
  /** Chunks skipped because checkpoints already cover them. */
  readonly done: number;
  /** Chunks (or the parts of them no checkpoint covers) to fetch. */
  readonly toFetch: number;
  /**
   * Requests the plan needs at least: one per batch of chunks (symbols sharing a window, from a
   * provider that takes several symbols a request), one per chunk otherwise.
   */
  readonly requests: number;
  /**
   * Requests it needs at most, were every open time a bar: a batch's bars are paged at the
   * provider's page size. Equal to `requests` when each chunk is one page of one symbol.
   */
  readonly requestsMax: number;
  readonly barsExpected: number;
  /** Time the provider's pacing budget needs for the requests, from a full bucket. */
  readonly pacingMs: number;
  /** The same for `requestsMax`. */
  readonly pacingMaxMs: number;
}

/**
 * Fetches the window chunk by chunk, `concurrency` at a time, each chunk checkpointed with its
 * last batch; chunks covered by checkpoints are skipped unless `force`.
 */
export async function runBackfill(
  context: JobContext,
  run: JobRun,
  window: BackfillWindow,
  options: { force: boolean; concurrency: number },
  signal: AbortSignal,
): Promise<BackfillPlanSummary> {
  const { dataset, provider, store, jobName, providerName, logger } = context;
  const interval = dataset.interval;
  const chunkMs = chunkLengthMs(interval, provider.maxBarsPerRequest, window.chunkMs);
  const checkpoints = new CheckpointIndex(
    options.force ? [] : await store.checkpoints(jobName, signal),
    providerName,
    interval,
    context.providerConfig.publication_delay,
  );
  const plan = {
    symbols: dataset.symbols,
    interval,
    start: window.start,
    end: window.end,
    chunkMs,
  };
  // Bars from here on may be unpublished yet: their chunks are checkpointed provisional.
  const edge = publicationEdge(
    context.timing.now(),
    context.providerConfig.publication_delay,
    interval,
  );
  // What no checkpoint holds (the uncovered parts of a chunk, not the whole of it), cut at the edge.
  const partsToFetch = (chunk: Chunk): Chunk[] =>
    checkpoints.missing(chunk).flatMap((part) => splitAtPublicationEdge(part, edge));
  const pending = function* (): Generator<Chunk> {
    for (const chunk of planChunks(plan)) yield* partsToFetch(chunk);
  };
  // Chunks sharing a window go to the provider together when it takes several symbols a request.
  const batches = () =>
    batchChunks(pending(), (chunk) =>
      symbolsPerBatch(provider, barsInWindow(chunk.start, chunk.end, interval)),
    );

  let chunks = 0;
  let done = 0;
  let toFetch = 0;
  let barsExpected = 0;
  for (const chunk of planChunks(plan)) {
    chunks += 1;
    const parts = partsToFetch(chunk);
    if (parts.length === 0) done += 1;
    toFetch += parts.length;
    for (const part of parts) barsExpected += barsInWindow(part.start, part.end, interval);
  }
  let requests = 0;
  let requestsMax = 0;
  for (const batch of batches()) {
    requests += 1;
    const bars = barsInWindow(batch.start, batch.end, interval) * batch.symbols.length;
    requestsMax += Math.max(1, Math.ceil(bars / provider.maxBarsPerRequest));
  }
  const summary: BackfillPlanSummary = {
    kind: 'backfill',
    start: window.start,
    end: window.end,
    chunkMs,
    chunks,
    done,
    toFetch,
    requests,
    requestsMax,
    barsExpected,
    pacingMs: context.bucket?.estimateMs(requests) ?? 0,
    pacingMaxMs: context.bucket?.estimateMs(requestsMax) ?? 0,
  };
  logger.info(
    {
      runId: run.runId,
      ...summary,
      start: new Date(summary.start).toISOString(),
      end: new Date(summary.end).toISOString(),
    },
    context.dryRun ? 'backfill plan (dry run)' : 'backfill starting',
  );
  if (context.dryRun) return summary;

  // A failed chunk stops the others: their in-flight requests are aborted, their writes are whole.
  const failed = new AbortController();
  const workSignal = AbortSignal.any([signal, failed.signal]);
  const sink = context.sink(run.runId);
  await runPool(
    batches(),
    options.concurrency,
    async (batch) => {
      try {
        const { pages, foreign } = await fetchChunkBatch(context, batch, workSignal);
        if (foreign.length > 0) await sink.write([], foreign);
        for (const [symbol, { valid, rejected, expectedRows, complete }] of pages) {
          await sink.write(valid, rejected, {
            jobName,
            provider: providerName,
            symbol,
            interval,
            windowStart: batch.start,
            windowEnd: batch.end,
            rows: valid.length,
            expectedRows,
            complete,
            ...(batch.provisional ? { provisional: true } : {}),
          });
          if (batch.provisional) context.totals.provisionalChunks += 1;
          // A provisional window is fetched again anyway: it is reported as provisional only.
          if (!complete && !batch.provisional) {
            context.totals.incompleteChunks += 1;
            context.events.emit('chunk:incomplete', { jobName, provider: providerName, symbol });
          }
        }
      } catch (error: unknown) {
        if (!signal.aborted) failed.abort(error);
        throw error;
      }
    },
    workSignal,
  );
  return summary;
}
