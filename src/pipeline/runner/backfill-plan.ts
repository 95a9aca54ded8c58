import { alignUp, intervalMs, type Interval } from '../../core/interval.js';
import type { Checkpoint } from '../../store/store.js';

/** One unit of backfill work: the bars of one symbol in `[start, end)`, fetched by one request. */
export interface Chunk {
  readonly symbol: string;
  readonly start: number;
  readonly end: number;
  /**
   * The window reaches past the provider's publication edge: bars may still be published into
   * it, so it is checkpointed provisional and a short answer is expected, not refetched.
   */
  readonly provisional?: boolean;
}

/**
 * Chunk length: as many bars as one request returns (or the configured chunk, if smaller), a whole
 * number of intervals.
 */
export function chunkLengthMs(
  interval: Interval,
  maxBarsPerRequest: number,
  configuredMs?: number,
): number {
  const step = intervalMs(interval);
  const byPage = maxBarsPerRequest * step;
  const wanted = configuredMs === undefined ? byPage : Math.min(byPage, configuredMs);
  return Math.max(step, Math.floor(wanted / step) * step);
}

/** Number of bar open times in `[start, end)`. */
export function barsInWindow(start: number, end: number, interval: Interval): number {
  return Math.max(0, (alignUp(end, interval) - alignUp(start, interval)) / intervalMs(interval));
}

export interface PlanWindow {
  readonly symbols: readonly string[];
  readonly interval: Interval;
  readonly start: number;
  readonly end: number;
  readonly chunkMs: number;
}

/**
 * The chunks of a window, time-major (every symbol's first chunk, then the second...). Chunks sit
 * on a grid anchored at the epoch, not at `start`, so a window extended between runs produces the
 * same inner chunks and their checkpoints still apply. Lazy: a decade of minutes is not an array.
 */
export function* planChunks(window: PlanWindow): Generator<Chunk> {
  const start = alignUp(window.start, window.interval);
  const end = alignUp(window.end, window.interval);
  if (end <= start) return;
  for (let k = Math.floor(start / window.chunkMs); k * window.chunkMs < end; k++) {
    const chunkStart = Math.max(start, k * window.chunkMs);
    const chunkEnd = Math.min(end, (k + 1) * window.chunkMs);
    for (const symbol of window.symbols) yield { symbol, start: chunkStart, end: chunkEnd };
  }
}

/**
 * Answers "what of this chunk is not stored yet?" from a job's final checkpoints (merged per
 * symbol). Incomplete and provisional checkpoints cover nothing: their windows are fetched again.
 * Nor does a checkpoint recorded sooner than `publicationDelayMs` after its window ended: it was
 * written before the delay was known (by an mdp without publication delays, or under a config
 * that set none), and its tail may have been unpublished when it was fetched.
 */
export class CheckpointIndex {
  private readonly covered = new Map<string, [number, number][]>();

  constructor(
    checkpoints: readonly Checkpoint[],
    provider: string,
    interval: Interval,
    publicationDelayMs = 0,
  ) {
    const bySymbol = new Map<string, [number, number][]>();
    for (const cp of checkpoints) {
      if (cp.provider !== provider || cp.interval !== interval) continue;
      if (!cp.complete || cp.provisional) continue;
      if (publicationDelayMs > 0 && cp.completedAt < cp.windowEnd + publicationDelayMs) continue;
      const list = bySymbol.get(cp.symbol) ?? [];
      list.push([cp.windowStart, cp.windowEnd]);
      bySymbol.set(cp.symbol, list);
    }
    for (const [symbol, ranges] of bySymbol) {
      ranges.sort((a, b) => a[0] - b[0]);
      const merged: [number, number][] = [];
      for (const range of ranges) {
        const last = merged.at(-1);
        if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
        else merged.push([range[0], range[1]]);
      }
      this.covered.set(symbol, merged);
    }
  }

  /** True when checkpoints together cover the whole chunk. */
  has(chunk: Chunk): boolean {
    return this.missing(chunk).length === 0;
  }

  /**
   * The parts of `chunk` no checkpoint covers, in time order. A window extended between runs
   * leaves its old last chunk partly covered; only the rest of it is fetched.
   */
  missing(chunk: Chunk): Chunk[] {
    const ranges = this.covered.get(chunk.symbol);
    if (!ranges) return [chunk];
    // The first range that ends after the chunk starts; ranges are disjoint and sorted.
    let lo = 0;
    let hi = ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((ranges[mid] as [number, number])[1] <= chunk.start) lo = mid + 1;
      else hi = mid;
    }
    const parts: Chunk[] = [];
    let from = chunk.start;
    for (let i = lo; i < ranges.length && from < chunk.end; i++) {
      const [start, end] = ranges[i] as [number, number];
      if (start >= chunk.end) break;
      if (start > from) parts.push({ symbol: chunk.symbol, start: from, end: start });
      from = Math.max(from, end);
    }
    if (from < chunk.end) parts.push({ symbol: chunk.symbol, start: from, end: chunk.end });
    return parts;
  }
}
