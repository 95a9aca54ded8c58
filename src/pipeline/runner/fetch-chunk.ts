import { intervalMs } from '../../core/interval.js';
import type { RejectedBar } from '../../store/store.js';
import { VALUE_REJECT_REASONS, type ValidationResult } from '../bar-validator.js';
import { backoffDelayMs } from '../policies/retry-policy.js';
import { barsInWindow, type Chunk } from './backfill-plan.js';
import type { FetchedWindow } from './fetch-window.js';
import type { JobContext } from './job-context.js';
import type { ChunkBatch } from './symbol-batches.js';

/** What one chunk's fetch brought back, and whether it covers the chunk's window. */
export interface ChunkPage extends ValidationResult {
  /** Bars the window holds, when the provider has one per interval; null when unknown. */
  readonly expectedRows: number | null;
  /** False when the answer stayed short of the window through every retry. */
  readonly complete: boolean;
}

/**
 * Rejects that still answer for their open time: the provider sent a bar for that ts, only a bad
 * one. An unaligned, repeated, foreign or out-of-window bar answers for nothing.
 */
const ANSWERS_FOR_ITS_TS: ReadonlySet<string> = new Set(VALUE_REJECT_REASONS);

/** Open times of the chunk the page has a bar for, good or bad. */
function answeredOpenTimes(page: ValidationResult, chunk: Chunk, stepMs: number): number {
  const times = new Set<number>();
  for (const bar of page.valid) times.add(bar.ts);
  for (const reject of page.rejected) {
    const { ts } = reject;
    if (ANSWERS_FOR_ITS_TS.has(reject.reason) && ts >= chunk.start && ts < chunk.end) {
      if (ts % stepMs === 0) times.add(ts);
    }
  }
  return times.size;
}

/**
 * Fetches one backfill chunk. From a gapless provider, an answer holding fewer open times than
 * the window is a short (or empty) page: the window is asked for again under the job's retry
 * policy, and if it stays short the fullest answer is returned marked incomplete, to be stored
 * and checkpointed as such so that the next run fetches the window again. Other providers' series
 * have gaps by nature: their answers are incomplete only when the provider says so, and so is a
 * provisional chunk's, whose tail the provider has not published yet. `first` is an answer
 * already in hand (a symbol's share of a batch), taken as the first attempt.
 */
export async function fetchChunk(
  context: JobContext,
  chunk: Chunk,
  signal: AbortSignal,
  random: () => number = Math.random,
  first?: FetchedWindow,
): Promise<ChunkPage> {
  const interval = context.dataset.interval;
  const request = { symbol: chunk.symbol, interval, start: chunk.start, end: chunk.end };
  const expected = barsInWindow(chunk.start, chunk.end, interval);
  if (!context.provider.gapless || chunk.provisional) {
    const page = first ?? (await context.fetch(request, signal));
    return {
      ...page,
      expectedRows: context.provider.gapless ? expected : null,
      complete: page.complete,
    };
  }
  const retry = context.providerConfig.retry ?? context.job.execution.retry;
  const step = intervalMs(interval);
  let best: { page: ValidationResult; answered: number } | undefined;
  for (let attempt = 1; ; attempt++) {
    const page = attempt === 1 && first ? first : await context.fetch(request, signal);
    // The provider itself says it cannot give the rest: asking again gets the same answer.
    if (!page.complete) return { ...page, expectedRows: expected, complete: false };
    const answered = answeredOpenTimes(page, chunk, step);
    if (answered >= expected) return { ...page, expectedRows: expected, complete: true };
    if (best === undefined || answered > best.answered) best = { page, answered };
    const where = {
      symbol: chunk.symbol,
      windowStart: new Date(chunk.start).toISOString(),
      windowEnd: new Date(chunk.end).toISOString(),
      bars: answered,
      expected,
      attempt,
    };
    if (attempt >= retry.max_attempts) {
      context.logger.warn(
        where,
        'provider pages stayed short of the window; stored what came and recorded the chunk incomplete (the next run fetches it again)',
      );
      return { ...best.page, expectedRows: expected, complete: false };
    }
    const delayMs = backoffDelayMs(attempt, retry, random);
    context.logger.warn(
      { ...where, delayMs: Math.round(delayMs) },
      'provider page stopped short of the window; fetching it again',
    );
    await context.timing.sleep(delayMs, signal);
  }
}

/** What one batch of chunks brought back, symbol by symbol. */
export interface ChunkBatchPages {
  /** Every symbol of the batch, in its order. */
  readonly pages: ReadonlyMap<string, ChunkPage>;
  /** Bars of symbols the batch did not name, rejected. */
  readonly foreign: readonly RejectedBar[];
}

/**
 * Fetches the chunks of a batch (several symbols, one window) in one paced request per page. From
 * a gapless provider, a symbol whose share is short is asked for again on its own, under
 * fetchChunk's refetch policy, so a batch is held to the same standard as single chunks.
 */
export async function fetchChunkBatch(
  context: JobContext,
  batch: ChunkBatch,
  signal: AbortSignal,
  random: () => number = Math.random,
): Promise<ChunkBatchPages> {
  const { start, end, symbols, provisional } = batch;
  const chunkOf = (symbol: string): Chunk => ({
    symbol,
    start,
    end,
    ...(provisional ? { provisional } : {}),
  });
  if (symbols.length === 1) {
    const symbol = symbols[0] as string;
    const page = await fetchChunk(context, chunkOf(symbol), signal, random);
    return { pages: new Map([[symbol, page]]), foreign: [] };
  }
  const interval = context.dataset.interval;
  const fetched = await context.fetchBatch({ symbols, interval, start, end }, signal);
  const gapless = context.provider.gapless === true;
  const expected = gapless ? barsInWindow(start, end, interval) : null;
  const step = intervalMs(interval);
  const pages = new Map<string, ChunkPage>();
  for (const [symbol, window] of fetched.windows) {
    const chunk = chunkOf(symbol);
    const short =
      expected !== null &&
      !provisional &&
      window.complete &&
      answeredOpenTimes(window, chunk, step) < expected;
    pages.set(
      symbol,
      // A short share is the first attempt of the symbol's own refetches, and kept if fullest.
      short
        ? await fetchChunk(context, chunk, signal, random, window)
        : { ...window, expectedRows: expected, complete: window.complete },
    );
  }
  return { pages, foreign: fetched.foreign };
}
