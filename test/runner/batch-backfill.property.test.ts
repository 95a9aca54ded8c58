import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../src/core/bar.js';
import { parseConfig } from '../../src/core/config/load-config.js';
import type {
  BatchFetchRequest,
  FetchRequest,
  FetchResult,
  Provider,
} from '../../src/core/provider.js';
import { ProviderRegistry } from '../../src/core/provider-registry.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { JobRunner } from '../../src/pipeline/runner/job-runner.js';
import { systemTiming } from '../../src/pipeline/timing.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig } from '../helpers/test-config.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2024-01-01T00:00:00Z');
const ALL_SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF'];
const tempDir = useTempDir();

/** A sparse hourly series: about a quarter of the hours have no bar, as with exchange hours. */
function hasBar(symbol: string, ts: number): boolean {
  let h = ts / HOUR;
  for (const char of symbol) h = Math.imul(h ^ char.charCodeAt(0), 0x9e3779b1) >>> 0;
  return h % 4 !== 0;
}

function barOf(provider: string, symbol: string, ts: number): Bar {
  const base = 100 + ((ts / HOUR) % 50) + symbol.charCodeAt(0);
  return {
    provider,
    symbol,
    interval: '1h',
    ts,
    open: base,
    high: base + 2,
    low: base - 1,
    close: base + 1,
    volume: 1000 + ((ts / HOUR) % 7),
    vwap: base + 0.5,
    tradeCount: 10,
  };
}

function seriesOf(provider: string, symbol: string, start: number, end: number): Bar[] {
  const bars: Bar[] = [];
  for (let ts = Math.ceil(start / HOUR) * HOUR; ts < end; ts += HOUR) {
    if (hasBar(symbol, ts)) bars.push(barOf(provider, symbol, ts));
  }
  return bars;
}

/**
 * Answers like Alpaca's multi-symbol endpoint: symbols sorted, at most `limit` bars a page across
 * them, an offset as the continuation token. Counts requests; can interrupt the run after some.
 */
class PagedBatchProvider implements Provider {
  requests = 0;
  /** The most symbols one request named. */
  widest = 0;
  onRequest: (count: number) => void = () => undefined;

  constructor(
    readonly name: string,
    readonly maxBarsPerRequest: number,
    readonly maxSymbolsPerRequest: number,
  ) {}

  fetchBars(request: FetchRequest): Promise<FetchResult> {
    const { symbol, ...window } = request;
    return this.fetchBatch({ ...window, symbols: [symbol] });
  }

  fetchBatch(request: BatchFetchRequest): Promise<FetchResult> {
    this.onRequest(++this.requests);
    this.widest = Math.max(this.widest, request.symbols.length);
    const all = [...request.symbols]
      .sort()
      .flatMap((symbol) => seriesOf(this.name, symbol, request.start, request.end));
    const offset = Number(request.cursor ?? 0);
    const end = offset + this.maxBarsPerRequest;
    return Promise.resolve({
      bars: all.slice(offset, end),
      ...(end < all.length ? { next: String(end) } : {}),
    });
  }
}

interface Case {
  readonly symbols: string[];
  readonly startHours: number;
  readonly hours: number;
  readonly limit: number;
  readonly perRequest: number;
  readonly concurrency: number;
  readonly interruptAfter: number | null;
}

async function backfill(dir: string, c: Case, provider: PagedBatchProvider, signal: AbortSignal) {
  const config = parseConfig(
    stringify(testConfig(dir, { symbols: c.symbols, interval: '1h', concurrency: c.concurrency })),
    { file: join(dir, 'mdp.yaml'), cwd: dir, env: {} },
  );
  const store = new SqliteStore({ path: join(dir, 'data', 'test.db') });
  await store.open();
  const runner = new JobRunner({
    config,
    store,
    providers: new ProviderRegistry().register('synthetic', () => provider),
    pacing: new PacingRegistry(systemTiming),
    events: new RunEvents(),
    logger: pino({ level: 'silent' }),
    host: 'test-host',
    pid: process.pid,
  });
  const from = T0 + c.startHours * HOUR;
  try {
    await runner.run({
      jobName: 'backfill_job',
      mode: 'backfill',
      from,
      to: from + c.hours * HOUR,
      signal,
    });
  } finally {
    await store.close();
  }
}

describe('backfill in multi-symbol batches', () => {
  it('property: stores every bar of every symbol exactly once, whatever the batch and page sizes, also after an interruption', async () => {
    const caseArb = fc.record({
      symbols: fc.subarray(ALL_SYMBOLS, { minLength: 1 }),
      startHours: fc.integer({ min: 0, max: 24 * 60 }),
      hours: fc.integer({ min: 1, max: 24 * 12 }),
      limit: fc.integer({ min: 3, max: 120 }),
      perRequest: fc.integer({ min: 1, max: 6 }),
      concurrency: fc.integer({ min: 1, max: 3 }),
      interruptAfter: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
    });
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const dir = tempDir();
        const provider = new PagedBatchProvider('synth', c.limit, c.perRequest);
        if (c.interruptAfter !== null) {
          const stop = new AbortController();
          const after = c.interruptAfter;
          provider.onRequest = (count) => {
            if (count === after) stop.abort(new Error('interrupted'));
          };
          await backfill(dir, c, provider, stop.signal).catch(() => undefined);
          provider.onRequest = () => undefined;
        }
        await backfill(dir, c, provider, new AbortController().signal);
        // Symbols that share a window did go together.
        const batching = Math.min(c.perRequest, c.symbols.length);
        expect(provider.widest).toBe(batching);

        const store = new SqliteStore({ path: join(dir, 'data', 'test.db') });
        await store.open();
        try {
          const from = T0 + c.startHours * HOUR;
          const to = from + c.hours * HOUR;
          for (const symbol of c.symbols) {
            const stored = await store.readBars({
              provider: 'synth',
              symbol,
              interval: '1h',
              start: from,
              end: to,
            });
            expect(stored).toEqual(seriesOf('synth', symbol, from, to));
          }
          expect(await store.countBars()).toBe(
            c.symbols.reduce((sum, s) => sum + seriesOf('synth', s, from, to).length, 0),
          );
          expect(await store.countRejected()).toBe(0);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
