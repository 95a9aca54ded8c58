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
  /** The window reaches past the provider's publication edge (see Chunk.provisional). */
  readonly provisional?: boolean;
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
  let open: { batch: ChunkBatch & { symbols: string[] }; size: number } | undefined;
  for (const chunk of chunks) {
    const batch = open?.batch;
    if (
      open &&
      batch &&
      batch.start === chunk.start &&
      batch.end === chunk.end &&
      batch.provisional === chunk.provisional &&
      batch.symbols.length < open.size
    ) {
      batch.symbols.push(chunk.symbol);
      continue;
    }
    if (batch) yield batch;
    const { symbol, ...window } = chunk;
    open = { batch: { ...window, symbols: [symbol] }, size: sizeFor(chunk) };
  }
  if (open) yield open.batch;
}
