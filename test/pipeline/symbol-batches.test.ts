import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Provider } from '../../src/core/provider.js';
import type { Chunk } from '../../src/pipeline/runner/backfill-plan.js';
import {
  BATCH_BAR_BUDGET,
  batchChunks,
  symbolsPerBatch,
  type ChunkBatch,
} from '../../src/pipeline/runner/symbol-batches.js';

const single: Provider = {
  name: 'one_at_a_time',
  maxBarsPerRequest: 1000,
  fetchBars: () => Promise.resolve([]),
};
const batching = (maxSymbolsPerRequest: number): Provider => ({
  ...single,
  name: 'batching',
  maxSymbolsPerRequest,
  fetchBatch: () => Promise.resolve({ bars: [] }),
});

describe('symbolsPerBatch', () => {
  it('is 1 for a provider without fetchBatch, or one that takes a single symbol', () => {
    expect(symbolsPerBatch(single, 10)).toBe(1);
    expect(symbolsPerBatch(batching(1), 10)).toBe(1);
    expect(symbolsPerBatch({ ...single, maxSymbolsPerRequest: 50 }, 10)).toBe(1);
  });

  it("is the provider's maximum while the batch stays within the bar budget", () => {
    expect(symbolsPerBatch(batching(100), 60)).toBe(100);
    // 10,000 one-minute bars a symbol: the budget allows 20 symbols.
    expect(symbolsPerBatch(batching(100), 10_000)).toBe(BATCH_BAR_BUDGET / 10_000);
    // A window larger than the budget still goes, one symbol at a time.
    expect(symbolsPerBatch(batching(100), BATCH_BAR_BUDGET * 3)).toBe(1);
    expect(symbolsPerBatch(batching(100), 0)).toBe(100);
  });
});

const chunk = (symbol: string, start: number, end = start + 10): Chunk => ({ symbol, start, end });

describe('batchChunks', () => {
  it('groups neighbouring chunks of one window up to the size, in order', () => {
    const chunks = [
      chunk('A', 0),
      chunk('B', 0),
      chunk('C', 0),
      chunk('A', 10),
      chunk('B', 10),
      chunk('C', 10),
    ];
    expect([...batchChunks(chunks, () => 2)]).toEqual([
      { symbols: ['A', 'B'], start: 0, end: 10 },
      { symbols: ['C'], start: 0, end: 10 },
      { symbols: ['A', 'B'], start: 10, end: 20 },
      { symbols: ['C'], start: 10, end: 20 },
    ]);
  });

  it('never mixes windows: a part left by a checkpoint goes on its own', () => {
    const chunks = [chunk('A', 0), chunk('B', 4, 10), chunk('C', 0), chunk('D', 0)];
    expect([...batchChunks(chunks, () => 10)]).toEqual([
      { symbols: ['A'], start: 0, end: 10 },
      { symbols: ['B'], start: 4, end: 10 },
      { symbols: ['C', 'D'], start: 0, end: 10 },
    ]);
  });

  it('is lazy: an endless plan yields its first batch', () => {
    function* endless(): Generator<Chunk> {
      for (let k = 0; ; k++) for (const symbol of ['A', 'B', 'C']) yield chunk(symbol, k * 10);
    }
    const first = batchChunks(endless(), () => 3).next();
    expect(first.value).toEqual({ symbols: ['A', 'B', 'C'], start: 0, end: 10 });
  });

  it('property: batches hold exactly the chunks, in order, each within its size and window', () => {
    const chunkArb = fc.record({
      symbol: fc.constantFrom('A', 'B', 'C', 'D'),
      start: fc.constantFrom(0, 10, 20),
      end: fc.constantFrom(30, 40),
    });
    fc.assert(
      fc.property(
        fc.array(chunkArb, { maxLength: 60 }),
        fc.integer({ min: 1, max: 5 }),
        (list, size) => {
          const batches: ChunkBatch[] = [...batchChunks(list, () => size)];
          const flattened = batches.flatMap((b) => b.symbols.map((s) => chunk(s, b.start, b.end)));
          expect(flattened).toEqual(list);
          for (const batch of batches) {
            expect(batch.symbols.length).toBeGreaterThanOrEqual(1);
            expect(batch.symbols.length).toBeLessThanOrEqual(size);
          }
          // Neighbouring batches share a window only when the first is full.
          for (let i = 1; i < batches.length; i++) {
            const [a, b] = [batches[i - 1] as ChunkBatch, batches[i] as ChunkBatch];
            if (a.start === b.start && a.end === b.end) expect(a.symbols).toHaveLength(size);
          }
        },
      ),
    );
  });
});
