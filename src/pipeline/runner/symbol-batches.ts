import { isBatchProvider, type Provider } from '../../core/provider.js';
import type { Chunk } from './backfill-plan.js';

/**
 * Most bars one batch may bring into memory, counted as the window's open times times its
 * symbols: a batch is fetched whole (every page) before its symbols are validated and written.
 * 200,000 bars is some 30 MB per batch in flight.
 */
export const BATCH_BAR_BUDGET = 200_000;

/** Symbols that may share one request over a window of `barsPerSymbol` open times. */
export function symbolsPerBatch(provider: Provider, barsPerSymbol: number): number {
  if (!isBatchProvider(provider)) return 1;
  const byMemory = Math.floor(BATCH_BAR_BUDGET / Math.max(1, barsPerSymbol));
  return Math.max(1, Math.min(provider.maxSymbolsPerRequest, byMemory));
}

/** Symbols fetched together over one window `[start, end)`. */
export interface ChunkBatch {
  readonly symbols: readonly string[];
  readonly start: number;
  readonly end: number;
}

/**
 * Groups chunks with the same window into batches of at most `sizeFor(chunk)` symbols, keeping
 * their order. Only neighbours are grouped, so a lazy, time-major plan stays lazy: the generator
 * holds one batch at a time.
 */
export function* batchChunks(
  chunks: Iterable<Chunk>,
  sizeFor: (chunk: Chunk) => number,
): Generator<ChunkBatch> {
  let open: { symbols: string[]; start: number; end: number; size: number } | undefined;
  for (const chunk of chunks) {
    if (
      open &&
      open.start === chunk.start &&
      open.end === chunk.end &&
      open.symbols.length < open.size
    ) {
      open.symbols.push(chunk.symbol);
      continue;
    }
    if (open) yield { symbols: open.symbols, start: open.start, end: open.end };
    open = { symbols: [chunk.symbol], start: chunk.start, end: chunk.end, size: sizeFor(chunk) };
  }
  if (open) yield { symbols: open.symbols, start: open.start, end: open.end };
}
