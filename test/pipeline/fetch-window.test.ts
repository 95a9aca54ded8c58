import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../src/core/bar.js';
import { PermanentProviderError } from '../../src/core/errors.js';
import type { BatchFetchRequest, FetchRequest, FetchResult } from '../../src/core/provider.js';
import { fetchBatchWindow, fetchWindow } from '../../src/pipeline/runner/fetch-window.js';

const T0 = Date.parse('2024-01-02T14:30:00Z');
const request: FetchRequest = { symbol: 'SPY', interval: '1m', start: T0, end: T0 + 10 * 60_000 };
const silent = pino({ level: 'silent' });

const bar = (minute: number): Bar => ({
  provider: 'p',
  symbol: 'SPY',
  interval: '1m',
  ts: T0 + minute * 60_000,
  open: 1,
  high: 2,
  low: 0.5,
  close: 1.5,
  volume: 10,
  vwap: null,
  tradeCount: null,
});

/** Answers page after page, recording the requests. */
function pages<R = FetchRequest, A = Bar[] | FetchResult>(
  answers: A[],
): {
  seen: R[];
  call: (page: R) => Promise<A>;
} {
  const seen: R[] = [];
  return {
    seen,
    call: (page) => {
      seen.push(page);
      const answer = answers[seen.length - 1];
      return answer ? Promise.resolve(answer) : Promise.reject(new Error('unscripted page'));
    },
  };
}

describe('fetchWindow', () => {
  it('takes a plain Bar[] as one complete page', async () => {
    const { seen, call } = pages([[bar(0), bar(1)]]);
    const window = await fetchWindow(request, 'p', call, silent);
    expect(window).toEqual({ valid: [bar(0), bar(1)], rejected: [], complete: true, pages: 1 });
    expect(seen).toEqual([request]);
  });

  it('follows continuation tokens, same request plus cursor, and validates the pages together', async () => {
    const { seen, call } = pages([
      { bars: [bar(0), bar(1)], next: 'c1' },
      { bars: [bar(2), bar(1)], next: 'c2' },
      { bars: [bar(3)] },
    ]);
    const window = await fetchWindow(request, 'p', call, silent);
    expect(seen.map((page) => page.cursor)).toEqual([undefined, 'c1', 'c2']);
    expect(seen[1]).toEqual({ ...request, cursor: 'c1' });
    expect(window.valid.map((b) => b.ts)).toEqual([0, 1, 2, 3].map((m) => T0 + m * 60_000));
    // A bar repeated on a later page is a duplicate like one repeated within a page.
    expect(window.rejected.map((r) => r.reason)).toEqual(['duplicate_ts']);
    expect(window.pages).toBe(3);
  });

  it('turns unparsed rows into rejects with reason unparseable and where they came from', async () => {
    const { call } = pages([
      {
        bars: [bar(0)],
        unparsed: [
          { source: '/d/SPY.csv:7', text: 'x,y', error: 'open: "y" is not a number', ts: T0 + 1.5 },
          { source: '/d/SPY.csv:9', text: '?', error: 'ts: "?" is not a time' },
        ],
      },
    ]);
    const window = await fetchWindow(request, 'p', call, silent);
    expect(window.rejected).toEqual([
      {
        provider: 'p',
        symbol: 'SPY',
        interval: '1m',
        ts: T0 + 1,
        reason: 'unparseable',
        raw: '{"source":"/d/SPY.csv:7","error":"open: \\"y\\" is not a number","row":"x,y"}',
      },
      expect.objectContaining({ ts: 0, reason: 'unparseable' }),
    ]);
  });

  it('an incomplete page ends the window, flagged, keeping its bars', async () => {
    const { call } = pages([
      { bars: [bar(0)], next: 'c1' },
      { bars: [bar(1)], complete: false, incompleteReason: 'full page, no token' },
    ]);
    const window = await fetchWindow(request, 'p', call, silent);
    expect(window).toMatchObject({
      complete: false,
      incompleteReason: 'full page, no token',
      pages: 2,
    });
    expect(window.valid).toHaveLength(2);
  });

  it('a continuation token that repeats is a permanent error, not an endless loop', async () => {
    const { call } = pages([
      { bars: [bar(0)], next: 'same' },
      { bars: [bar(1)], next: 'same' },
    ]);
    await expect(fetchWindow(request, 'p', call, silent)).rejects.toThrow(PermanentProviderError);
  });
});

describe('fetchBatchWindow', () => {
  const batch: BatchFetchRequest = {
    symbols: ['SPY', 'QQQ', 'IWM'],
    interval: '1m',
    start: T0,
    end: T0 + 10 * 60_000,
  };
  const of = (symbol: string, minute: number): Bar => ({ ...bar(minute), symbol });

  const batchPages = (answers: FetchResult[]) => pages<BatchFetchRequest, FetchResult>(answers);

  it('follows the batch token and validates each symbol as if fetched alone', async () => {
    const { seen, call } = batchPages([
      { bars: [of('QQQ', 0), of('QQQ', 1), of('SPY', 0)], next: 'c1' },
      // SPY's minute 0 again on a later page: a duplicate of SPY, not of QQQ.
      { bars: [of('SPY', 1), of('SPY', 0), of('QQQ', 2)] },
    ]);
    const result = await fetchBatchWindow(batch, 'p', call, silent);
    expect(seen.map((page) => page.cursor)).toEqual([undefined, 'c1']);
    expect(seen[1]).toEqual({ ...batch, cursor: 'c1' });
    expect([...result.windows.keys()]).toEqual(['SPY', 'QQQ', 'IWM']);
    expect(result.pages).toBe(2);
    const spy = result.windows.get('SPY');
    expect(spy?.valid.map((b) => b.ts)).toEqual([T0, T0 + 60_000]);
    expect(spy?.rejected).toEqual([
      expect.objectContaining({ symbol: 'SPY', ts: T0, reason: 'duplicate_ts' }),
    ]);
    expect(result.windows.get('QQQ')?.valid.map((b) => b.symbol)).toEqual(['QQQ', 'QQQ', 'QQQ']);
    // A symbol without bars (a holiday, a halted stock) still has its window, complete and empty.
    expect(result.windows.get('IWM')).toEqual({
      valid: [],
      rejected: [],
      complete: true,
      pages: 2,
    });
    expect(result.foreign).toEqual([]);
  });

  it('rejects bars of symbols the batch did not name as wrong_series, under their own symbol', async () => {
    const { call } = batchPages([{ bars: [of('SPY', 0), of('TSLA', 0)] }]);
    const result = await fetchBatchWindow(batch, 'p', call, silent);
    expect(result.windows.get('SPY')?.valid).toHaveLength(1);
    expect(result.foreign).toEqual([
      expect.objectContaining({ provider: 'p', symbol: 'TSLA', ts: T0, reason: 'wrong_series' }),
    ]);
  });

  it('an incomplete answer leaves every symbol of the batch incomplete', async () => {
    const { call } = batchPages([
      { bars: [of('SPY', 0)], complete: false, incompleteReason: 'full page, no token' },
    ]);
    const result = await fetchBatchWindow(batch, 'p', call, silent);
    for (const symbol of batch.symbols) {
      expect(result.windows.get(symbol)).toMatchObject({
        complete: false,
        incompleteReason: 'full page, no token',
      });
    }
  });

  it("records unparsed rows under their symbol, or the batch's symbols when the row names none", async () => {
    const { call } = batchPages([
      {
        bars: [],
        unparsed: [
          { source: 'page 1', text: '{}', error: 'o: missing', symbol: 'QQQ', ts: T0 },
          { source: 'page 1', text: '[', error: 'not a bar' },
        ],
      },
    ]);
    const result = await fetchBatchWindow(batch, 'p', call, silent);
    expect(result.windows.get('QQQ')?.rejected).toEqual([
      expect.objectContaining({ symbol: 'QQQ', ts: T0, reason: 'unparseable' }),
    ]);
    expect(result.foreign).toEqual([
      expect.objectContaining({ symbol: 'SPY,QQQ,IWM', ts: 0, reason: 'unparseable' }),
    ]);
  });
});
