import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../src/core/bar.js';
import type { BatchFetchRequest, FetchRequest } from '../../src/core/provider.js';
import { validateBars } from '../../src/pipeline/bar-validator.js';
import { fetchChunk, fetchChunkBatch } from '../../src/pipeline/runner/fetch-chunk.js';
import type { FetchedWindow } from '../../src/pipeline/runner/fetch-window.js';
import type { JobContext } from '../../src/pipeline/runner/job-context.js';
import { FakeTiming } from '../helpers/fake-timing.js';

const T0 = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;
const CHUNK = { symbol: 'AAA', start: T0, end: T0 + 10 * MINUTE };

function bar(i: number, overrides: Partial<Bar> = {}): Bar {
  return {
    provider: 'p',
    symbol: 'AAA',
    interval: '1m',
    ts: T0 + i * MINUTE,
    open: 10,
    high: 11,
    low: 9,
    close: 10,
    volume: 100,
    vwap: null,
    tradeCount: null,
    ...overrides,
  };
}

/** The pages a provider answers, one per call, validated as the runner's fetch does. */
function context(pages: (Bar[] | { bars: Bar[]; complete: false })[], gapless = true) {
  const timing = new FakeTiming();
  const calls: FetchRequest[] = [];
  const ctx = {
    provider: { name: 'p', maxBarsPerRequest: 100, gapless, fetchBars: () => Promise.reject() },
    dataset: { provider: 'p', symbols: ['AAA'], interval: '1m' },
    providerConfig: { retry: undefined },
    job: {
      execution: {
        retry: { max_attempts: 3, backoff_seconds: 1, max_backoff_seconds: 10, jitter: 'none' },
      },
    },
    logger: pino({ level: 'silent' }),
    timing,
    fetch: async (request: FetchRequest): Promise<FetchedWindow> => {
      calls.push(request);
      const page = pages[Math.min(calls.length, pages.length) - 1] ?? [];
      const [bars, complete] = Array.isArray(page) ? [page, true] : [page.bars, page.complete];
      return { ...validateBars(bars, request, 'p'), complete, pages: 1 };
    },
  } as unknown as JobContext;
  return { ctx, timing, calls };
}

const whole = Array.from({ length: 10 }, (_, i) => bar(i));

describe('fetchChunk', () => {
  it('takes a whole page at once', async () => {
    const { ctx, calls } = context([whole]);
    const page = await fetchChunk(ctx, CHUNK, new AbortController().signal);
    expect(page).toMatchObject({ expectedRows: 10, complete: true });
    expect(page.valid).toHaveLength(10);
    expect(calls).toHaveLength(1);
  });

  it('asks again for a short or empty page, with backoff, until it is whole', async () => {
    const { ctx, calls, timing } = context([whole.slice(0, 4), [], whole]);
    const page = await timing.run(fetchChunk(ctx, CHUNK, new AbortController().signal));
    expect(page).toMatchObject({ expectedRows: 10, complete: true });
    expect(calls).toHaveLength(3);
    expect(timing.sleeps).toEqual([1000, 2000]);
  });

  it('keeps the fullest answer, marked incomplete, when every try is short', async () => {
    const { ctx, calls, timing } = context([whole.slice(0, 4), whole.slice(0, 7), []]);
    const page = await timing.run(fetchChunk(ctx, CHUNK, new AbortController().signal));
    expect(page).toMatchObject({ expectedRows: 10, complete: false });
    expect(page.valid).toHaveLength(7);
    expect(calls).toHaveLength(3);
  });

  it('counts a bad bar as an answer for its minute, but not an extra or foreign one', async () => {
    const spoiled = [...whole.slice(0, 9), bar(9, { volume: -1 })];
    const bad = context([spoiled]);
    const kept = await fetchChunk(bad.ctx, CHUNK, new AbortController().signal);
    expect(kept).toMatchObject({ complete: true });
    expect(kept.rejected.map((r) => r.reason)).toEqual(['negative_volume']);
    const padded = [
      ...whole.slice(0, 9),
      bar(8, { ts: T0 + 8 * MINUTE + 1 }),
      bar(2, { symbol: 'X' }),
    ];
    const { ctx, timing } = context([padded]);
    expect(await timing.run(fetchChunk(ctx, CHUNK, new AbortController().signal))).toMatchObject({
      complete: false,
    });
  });

  it('does not ask again when the provider itself says its answer is incomplete', async () => {
    const { ctx, calls } = context([{ bars: whole.slice(0, 5), complete: false }]);
    const page = await fetchChunk(ctx, CHUNK, new AbortController().signal);
    expect(page).toMatchObject({ expectedRows: 10, complete: false });
    expect(calls).toHaveLength(1);
  });

  it('takes any page from a provider whose series have gaps by nature', async () => {
    const { ctx, calls } = context([whole.slice(0, 3)], false);
    const page = await fetchChunk(ctx, CHUNK, new AbortController().signal);
    expect(page).toMatchObject({ expectedRows: null, complete: true });
    expect(calls).toHaveLength(1);
  });
});

describe('fetchChunkBatch', () => {
  /** A context whose batch answer is `batchBars`; single fetches answer `whole` of their symbol. */
  function batchContext(
    batchBars: Bar[],
    options: { gapless: boolean; complete?: boolean; refetched?: number[] },
  ) {
    const { ctx, timing } = context([], options.gapless);
    const calls: FetchRequest[] = [];
    const batches: BatchFetchRequest[] = [];
    const withBatch = {
      ...ctx,
      fetch: (request: FetchRequest): Promise<FetchedWindow> => {
        calls.push(request);
        // The n-th refetch answers `refetched[n]` bars (all of them when not given).
        const n = options.refetched?.[calls.length - 1] ?? whole.length;
        const bars = whole.slice(0, n).map((b) => ({ ...b, symbol: request.symbol }));
        return Promise.resolve({ ...validateBars(bars, request, 'p'), complete: true, pages: 1 });
      },
      fetchBatch: (request: BatchFetchRequest) => {
        batches.push(request);
        const windows = new Map<string, FetchedWindow>();
        for (const symbol of request.symbols) {
          const own = batchBars.filter((b) => b.symbol === symbol);
          const window = {
            symbol,
            interval: request.interval,
            start: request.start,
            end: request.end,
          };
          windows.set(symbol, {
            ...validateBars(own, window, 'p'),
            complete: options.complete ?? true,
            pages: 1,
          });
        }
        return Promise.resolve({ windows, foreign: [], pages: 1 });
      },
    } as unknown as JobContext;
    return { ctx: withBatch, calls, batches, timing };
  }
  const BATCH = { symbols: ['AAA', 'BBB', 'CCC'], start: CHUNK.start, end: CHUNK.end };
  const of = (symbol: string, bars: Bar[]): Bar[] => bars.map((b) => ({ ...b, symbol }));

  it('fetches the symbols together and hands each its share', async () => {
    const answer = [...of('AAA', whole), ...of('BBB', whole), ...of('CCC', whole)];
    const { ctx, calls, batches } = batchContext(answer, { gapless: true });
    const { pages, foreign } = await fetchChunkBatch(ctx, BATCH, new AbortController().signal);
    expect(batches).toEqual([{ ...BATCH, interval: '1m' }]);
    expect(calls).toEqual([]);
    expect([...pages.keys()]).toEqual(['AAA', 'BBB', 'CCC']);
    for (const page of pages.values()) {
      expect(page).toMatchObject({ expectedRows: 10, complete: true });
      expect(page.valid).toHaveLength(10);
    }
    expect(foreign).toEqual([]);
  });

  it('from a gapless provider, asks again alone for a symbol whose share is short', async () => {
    const answer = [...of('AAA', whole), ...of('BBB', whole.slice(0, 3)), ...of('CCC', whole)];
    const { ctx, calls, timing } = batchContext(answer, { gapless: true });
    const { pages } = await timing.run(fetchChunkBatch(ctx, BATCH, new AbortController().signal));
    // The batch's share was the first attempt: one backoff, then the symbol alone.
    expect(timing.sleeps).toEqual([1000]);
    expect(calls).toEqual([{ symbol: 'BBB', interval: '1m', start: CHUNK.start, end: CHUNK.end }]);
    expect(pages.get('BBB')).toMatchObject({ expectedRows: 10, complete: true });
    expect(pages.get('BBB')?.valid).toHaveLength(10);
  });

  it('keeps the batch share when the refetches come back shorter, marked incomplete', async () => {
    const answer = [...of('AAA', whole), ...of('BBB', whole.slice(0, 6)), ...of('CCC', whole)];
    const { ctx, calls, timing } = batchContext(answer, { gapless: true, refetched: [2, 0] });
    const { pages } = await timing.run(fetchChunkBatch(ctx, BATCH, new AbortController().signal));
    // max_attempts 3: the batch share and two refetches alone.
    expect(calls).toHaveLength(2);
    expect(pages.get('BBB')).toMatchObject({ expectedRows: 10, complete: false });
    expect(pages.get('BBB')?.valid).toHaveLength(6);
  });

  it('does not refetch a gapless batch the provider itself flagged incomplete', async () => {
    const answer = [...of('AAA', whole.slice(0, 2))];
    const { ctx, calls } = batchContext(answer, { gapless: true, complete: false });
    const { pages } = await fetchChunkBatch(ctx, BATCH, new AbortController().signal);
    expect(calls).toEqual([]);
    expect(pages.get('AAA')).toMatchObject({ expectedRows: 10, complete: false });
    expect(pages.get('BBB')).toMatchObject({ expectedRows: 10, complete: false, valid: [] });
  });

  it('takes gaps as they come from other providers, and passes an incomplete answer on', async () => {
    const answer = [...of('AAA', whole.slice(0, 3))];
    const { ctx, calls } = batchContext(answer, { gapless: false, complete: false });
    const { pages } = await fetchChunkBatch(ctx, BATCH, new AbortController().signal);
    expect(calls).toEqual([]);
    expect(pages.get('AAA')).toMatchObject({ expectedRows: null, complete: false });
    expect(pages.get('AAA')?.valid).toHaveLength(3);
    expect(pages.get('CCC')).toMatchObject({ expectedRows: null, complete: false, valid: [] });
  });

  it('a batch of one symbol is an ordinary chunk', async () => {
    const { ctx, calls, batches } = batchContext([], { gapless: true });
    const { pages } = await fetchChunkBatch(
      ctx,
      { ...BATCH, symbols: ['AAA'] },
      new AbortController().signal,
    );
    expect(batches).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(pages.get('AAA')).toMatchObject({ complete: true });
  });
});
