import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INTERVALS, intervalMs, type Interval } from '../../src/core/interval.js';
import {
  barsInWindow,
  CheckpointIndex,
  planChunks,
  type Chunk,
} from '../../src/pipeline/runner/backfill-plan.js';
import type { Checkpoint } from '../../src/store/store.js';

const SYMBOLS = ['AAA', 'BBB', 'CCC'];

/** The aligned open times in [start, end), by brute force. */
function openTimes(start: number, end: number, interval: Interval): number[] {
  const step = intervalMs(interval);
  const times: number[] = [];
  for (let ts = Math.ceil(start / step) * step; ts < end; ts += step) times.push(ts);
  return times;
}

/** The bar open times each chunk of the plan fetches, per symbol, in plan order. */
function barsBySymbol(chunks: Iterable<Chunk>, interval: Interval): Map<string, number[]> {
  const bySymbol = new Map<string, number[]>();
  for (const chunk of chunks) {
    const times = openTimes(chunk.start, chunk.end, interval);
    if (times.length !== barsInWindow(chunk.start, chunk.end, interval) || times.length === 0) {
      throw new Error(`chunk ${JSON.stringify(chunk)} holds ${times.length} bars`);
    }
    const list = bySymbol.get(chunk.symbol) ?? [];
    list.push(...times);
    bySymbol.set(chunk.symbol, list);
  }
  return bySymbol;
}

/** A window of up to ~400 bars of the interval around 2024, with unaligned ends allowed. */
const windowArb = fc
  .record({
    interval: fc.constantFrom(...INTERVALS),
    startBars: fc.integer({ min: -200, max: 200 }),
    startOffset: fc.integer({ min: 0, max: 3_600_000 }),
    lengthBars: fc.integer({ min: 0, max: 400 }),
    endOffset: fc.integer({ min: -3_600_000, max: 3_600_000 }),
    chunkBars: fc.integer({ min: 1, max: 150 }),
    otherChunkBars: fc.integer({ min: 1, max: 150 }),
    symbols: fc.subarray(SYMBOLS, { minLength: 1 }),
  })
  .map((w) => {
    const step = intervalMs(w.interval);
    const base = Date.parse('2024-01-01T00:00:00Z');
    const start = base + w.startBars * step + (w.startOffset % step);
    const end = start + w.lengthBars * step + w.endOffset;
    return {
      interval: w.interval,
      symbols: w.symbols,
      start,
      end,
      chunkMs: w.chunkBars * step,
      otherChunkMs: w.otherChunkBars * step,
    };
  });

describe('planChunks (property)', () => {
  it('covers exactly the aligned open times in [start, end) per symbol, no gap, no overlap', () => {
    fc.assert(
      fc.property(windowArb, (w) => {
        const expected = openTimes(w.start, w.end, w.interval);
        expect(barsInWindow(w.start, w.end, w.interval)).toBe(expected.length);
        const chunks = [...planChunks(w)];
        const bySymbol = barsBySymbol(chunks, w.interval);
        for (const symbol of w.symbols) {
          // Concatenated in plan order, equal to the ascending enumeration: no gap, no overlap.
          expect(bySymbol.get(symbol) ?? []).toEqual(expected);
        }
        expect([...bySymbol.keys()].every((s) => w.symbols.includes(s))).toBe(true);
        for (const chunk of chunks) {
          // Every boundary sits on the epoch-anchored grid or on the window's own ends.
          expect(chunk.start % w.chunkMs === 0 || chunk.start === expected[0]).toBe(true);
          expect(
            chunk.end % w.chunkMs === 0 ||
              chunk.end === (expected.at(-1) ?? 0) + intervalMs(w.interval),
          ).toBe(true);
          expect(chunk.end - chunk.start).toBeLessThanOrEqual(w.chunkMs);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('two chunk sizes cover the same set of bar times', () => {
    fc.assert(
      fc.property(windowArb, (w) => {
        const a = barsBySymbol(planChunks(w), w.interval);
        const b = barsBySymbol(planChunks({ ...w, chunkMs: w.otherChunkMs }), w.interval);
        expect(b).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });

  it('checkpoints of every chunk of a plan make every chunk of that plan covered', () => {
    fc.assert(
      fc.property(windowArb, fc.integer(), (w, seed) => {
        const chunks = [...planChunks(w)];
        const checkpoints: Checkpoint[] = chunks.map((c) => ({
          jobName: 'job',
          provider: 'synthetic_1',
          symbol: c.symbol,
          interval: w.interval,
          windowStart: c.start,
          windowEnd: c.end,
          rows: barsInWindow(c.start, c.end, w.interval),
          runId: 1,
          completedAt: 0,
          expectedRows: null,
          complete: true,
          provisional: false,
        }));
        // Stored order is arbitrary; the index must not depend on it.
        const shuffled = [...checkpoints].sort(
          (x, y) => ((x.windowStart * 31 + seed) % 97) - ((y.windowStart * 31 + seed) % 97),
        );
        const index = new CheckpointIndex(shuffled, 'synthetic_1', w.interval);
        expect(chunks.every((c) => index.has(c))).toBe(true);
        // A different chunk size over the same window is covered too: coverage is merged.
        expect([...planChunks({ ...w, chunkMs: w.otherChunkMs })].every((c) => index.has(c))).toBe(
          true,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('a rerun after some chunks fetches exactly the bars no checkpoint holds, whatever the chunking', () => {
    fc.assert(
      fc.property(windowArb, fc.array(fc.boolean(), { maxLength: 400 }), (w, done) => {
        // Some chunks of a first plan finished; the rerun plans with another chunk size.
        const first = [...planChunks(w)];
        const finished = first.filter((_, i) => done[i] === true);
        const checkpoints: Checkpoint[] = finished.map((c) => ({
          jobName: 'job',
          provider: 'synthetic_1',
          symbol: c.symbol,
          interval: w.interval,
          windowStart: c.start,
          windowEnd: c.end,
          rows: barsInWindow(c.start, c.end, w.interval),
          runId: 1,
          completedAt: 0,
          expectedRows: null,
          complete: true,
          provisional: false,
        }));
        const index = new CheckpointIndex(checkpoints, 'synthetic_1', w.interval);
        const refetched = barsBySymbol(
          [...planChunks({ ...w, chunkMs: w.otherChunkMs })].flatMap((c) => index.missing(c)),
          w.interval,
        );
        const stored = barsBySymbol(finished, w.interval);
        for (const symbol of w.symbols) {
          const all = openTimes(w.start, w.end, w.interval);
          const mine = [...(stored.get(symbol) ?? []), ...(refetched.get(symbol) ?? [])];
          // Every bar exactly once: fetched before, or now, never both.
          expect(mine.sort((a, b) => a - b)).toEqual(all);
        }
      }),
      { numRuns: 200 },
    );
  });
});
