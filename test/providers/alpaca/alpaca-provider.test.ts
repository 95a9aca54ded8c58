import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alpacaProviderSchema } from '../../../src/core/config/config-schema.js';
import {
  PermanentProviderError,
  RetriesExhaustedError,
  TransientProviderError,
} from '../../../src/core/errors.js';
import type { FetchRequest } from '../../../src/core/provider.js';
import { AlpacaProvider } from '../../../src/providers/alpaca/alpaca-provider.js';
import { useFixtureServer, type FixtureReply } from '../../helpers/fixture-server.js';
import { pipelineFetch, pipelineFetchBatch } from '../../helpers/pipeline-fetch.js';
import { alpacaFakeApi } from './alpaca-fake-api.js';

const KEY_ID = 'PKTEST9X2Y7Z4W1V';
const SECRET = 'sk_test_q8R3tY6uI9oP2aS5';
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as unknown;
const json = (name: string, status = 200, headers?: Record<string, string>): FixtureReply => ({
  status,
  json: fixture(name),
  ...(headers ? { headers } : {}),
});

const SPY_MORNING: FetchRequest = {
  symbol: 'SPY',
  interval: '1m',
  start: Date.parse('2024-01-02T14:30:00Z'),
  end: Date.parse('2024-01-02T14:38:00Z'),
};

function alpaca(baseUrl: string, config: Record<string, unknown> = {}): AlpacaProvider {
  return new AlpacaProvider(
    'alpaca_1',
    alpacaProviderSchema.parse({
      type: 'alpaca',
      key_id: KEY_ID,
      secret_key: SECRET,
      base_url: baseUrl,
      ...config,
    }),
  );
}

const signal = (): AbortSignal => new AbortController().signal;

describe('alpaca provider against a local server in the documented format', () => {
  const serve = useFixtureServer();

  it('follows next_page_token across three pages, keeping every other parameter unchanged', async () => {
    const server = await serve(({ url }) => {
      const token = url.searchParams.get('page_token');
      if (token === null) return json('spy-1min-page1');
      if (token === 'U1BZfE18MjAyNC0wMS0wMlQxNDozMzowMC4wMDAwMDAwMDBa')
        return json('spy-1min-page2');
      return json('spy-1min-page3');
    });
    const window = await pipelineFetch(alpaca(server.url, { feed: 'sip' }), SPY_MORNING);

    expect(window).toMatchObject({ pages: 3, complete: true, rejected: [] });
    expect(window.valid.map((bar) => bar.ts)).toEqual(
      Array.from({ length: 8 }, (_, i) => SPY_MORNING.start + i * 60_000),
    );
    expect(window.valid[0]).toEqual({
      provider: 'alpaca_1',
      symbol: 'SPY',
      interval: '1m',
      ts: SPY_MORNING.start,
      open: 472.16,
      high: 472.52,
      low: 471.83,
      close: 472.42,
      volume: 35104,
      vwap: 472.188,
      tradeCount: 412,
    });
    expect(window.valid[7]).toMatchObject({ vwap: null, tradeCount: null });

    const [first, second, third] = server.requests;
    expect(first?.url.pathname).toBe('/v2/stocks/bars');
    expect(Object.fromEntries(first?.url.searchParams ?? [])).toEqual({
      symbols: 'SPY',
      timeframe: '1Min',
      start: '2024-01-02T14:30:00.000Z',
      // Alpaca's end is inclusive: one millisecond before the window's end.
      end: '2024-01-02T14:37:59.999Z',
      limit: '10000',
      feed: 'sip',
      adjustment: 'raw',
    });
    const { page_token: token2, ...rest2 } = Object.fromEntries(second?.url.searchParams ?? []);
    expect(rest2).toEqual(Object.fromEntries(first?.url.searchParams ?? []));
    expect(token2).toBe('U1BZfE18MjAyNC0wMS0wMlQxNDozMzowMC4wMDAwMDAwMDBa');
    expect(third?.url.searchParams.get('page_token')).toBe(
      'U1BZfE18MjAyNC0wMS0wMlQxNDozNjowMC4wMDAwMDAwMDBa',
    );
    for (const request of server.requests) {
      expect(request.headers['apca-api-key-id']).toBe(KEY_ID);
      expect(request.headers['apca-api-secret-key']).toBe(SECRET);
      expect(request.url.toString()).not.toContain(SECRET);
    }
  });

  it('reads the multi-symbol answer keyed by symbol; daily bars move to their UTC date', async () => {
    const server = await serve(() => json('multi-1day-docs-example'));
    const day = Date.parse('2022-02-28T00:00:00Z');
    const window = await pipelineFetch(alpaca(server.url, { adjustment: 'all' }), {
      symbol: 'TSLA',
      interval: '1d',
      start: day,
      end: day + 86_400_000,
    });
    expect(server.requests[0]?.url.searchParams.get('timeframe')).toBe('1Day');
    expect(server.requests[0]?.url.searchParams.get('adjustment')).toBe('all');
    // 2022-02-28T05:00:00Z is midnight in New York: the bar of 2022-02-28.
    expect(window.valid).toEqual([
      {
        provider: 'alpaca_1',
        symbol: 'TSLA',
        interval: '1d',
        ts: day,
        open: 815.72,
        high: 876.86,
        low: 814.7075,
        close: 870.43,
        volume: 32122773,
        vwap: 855.748243,
        tradeCount: 848700,
      },
    ]);
    // A symbol the request did not name is not dropped silently: it is a wrong-series reject.
    expect(window.rejected).toEqual([
      expect.objectContaining({ symbol: 'TSLA', reason: 'wrong_series' }),
    ]);
    expect(JSON.parse(window.rejected[0]?.raw ?? '{}')).toMatchObject({ symbol: 'AAPL' });
  });

  it("a batch names its symbols in one request and reads each one's bars", async () => {
    const server = await serve(() => json('multi-1day-docs-example'));
    const day = Date.parse('2022-02-28T00:00:00Z');
    const provider = alpaca(server.url);
    expect(provider.maxSymbolsPerRequest).toBe(100);
    const batch = await pipelineFetchBatch(provider, {
      symbols: ['AAPL', 'TSLA'],
      interval: '1d',
      start: day,
      end: day + 86_400_000,
    });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.url.searchParams.get('symbols')).toBe('AAPL,TSLA');
    expect(batch.windows.get('AAPL')?.valid).toEqual([
      expect.objectContaining({ symbol: 'AAPL', ts: day, close: 165.12, tradeCount: 743379 }),
    ]);
    expect(batch.windows.get('TSLA')?.valid).toEqual([
      expect.objectContaining({ symbol: 'TSLA', ts: day, close: 870.43 }),
    ]);
    expect(batch).toMatchObject({ foreign: [], pages: 1 });
  });

  it('limit counts bars across the batch; next_page_token carries the batch on', async () => {
    const server = await serve(alpacaFakeApi({ keyId: KEY_ID, secretKey: SECRET, pageSize: 100 }));
    const day = Date.parse('2024-01-02T00:00:00Z');
    const batch = await pipelineFetchBatch(alpaca(server.url, { limit: 100 }), {
      symbols: ['SPY', 'AAPL', 'MSFT'],
      interval: '1m',
      start: day,
      end: day + 86_400_000,
    });
    // 390 session minutes a symbol, 1,170 bars in pages of 100 across the symbols.
    expect(server.requests).toHaveLength(12);
    expect(batch.pages).toBe(12);
    for (const request of server.requests) {
      expect(request.url.searchParams.get('symbols')).toBe('SPY,AAPL,MSFT');
    }
    for (const symbol of ['SPY', 'AAPL', 'MSFT']) {
      const window = batch.windows.get(symbol);
      expect(window).toMatchObject({ complete: true, rejected: [] });
      expect(window?.valid).toHaveLength(390);
      expect(new Set(window?.valid.map((bar) => bar.symbol))).toEqual(new Set([symbol]));
    }
  });

  it('a full batch page without a next_page_token leaves every symbol incomplete', async () => {
    const server = await serve(() => json('multi-1day-docs-example'));
    const day = Date.parse('2022-02-28T00:00:00Z');
    const batch = await pipelineFetchBatch(alpaca(server.url, { limit: 2 }), {
      symbols: ['AAPL', 'TSLA', 'MSFT'],
      interval: '1d',
      start: day,
      end: day + 86_400_000,
    });
    for (const window of batch.windows.values()) {
      expect(window.complete).toBe(false);
      expect(window.incompleteReason).toContain('a full page of 2 bars (limit 2)');
    }
  });

  it('maps every interval to its timeframe', async () => {
    const server = await serve(() => json('empty-holiday'));
    const provider = alpaca(server.url);
    const start = Date.parse('2024-01-02T00:00:00Z');
    for (const interval of ['1m', '5m', '15m', '30m', '1h', '4h', '1d'] as const) {
      await provider.fetchBars(
        { symbol: 'SPY', interval, start, end: start + 86_400_000 },
        signal(),
      );
    }
    expect(server.requests.map((r) => r.url.searchParams.get('timeframe'))).toEqual([
      '1Min',
      '5Min',
      '15Min',
      '30Min',
      '1Hour',
      '4Hour',
      '1Day',
    ]);
  });

  it('an empty answer (a holiday) is an empty, complete page', async () => {
    const server = await serve(() => json('empty-holiday'));
    const day = Date.parse('2024-01-01T00:00:00Z');
    const window = await pipelineFetch(alpaca(server.url), {
      symbol: 'SPY',
      interval: '1d',
      start: day,
      end: day + 86_400_000,
    });
    expect(window).toMatchObject({ valid: [], rejected: [], complete: true, pages: 1 });
  });

  it('429 is rate-limited: the wait comes from Retry-After, or else X-RateLimit-Reset', async () => {
    const reset = Math.ceil(Date.now() / 1000) + 20;
    let calls = 0;
    const server = await serve(() => {
      calls += 1;
      if (calls === 1) return json('error-rate-limited', 429, { 'Retry-After': '1' });
      if (calls === 2) {
        return json('error-rate-limited', 429, {
          'X-RateLimit-Limit': '200',
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': String(reset),
        });
      }
      return json('spy-1min-page3');
    });
    const first = (await alpaca(server.url)
      .fetchBars(SPY_MORNING, signal())
      .catch((e: unknown) => e)) as TransientProviderError;
    expect(first).toBeInstanceOf(TransientProviderError);
    expect(first).toMatchObject({ rateLimited: true, retryAfterMs: 1000 });
    expect(first.message).toContain('429 Too Many Requests: rate limit exceeded (code 42910000)');

    const second = (await alpaca(server.url)
      .fetchBars(SPY_MORNING, signal())
      .catch((e: unknown) => e)) as TransientProviderError;
    expect(second.rateLimited).toBe(true);
    expect(second.retryAfterMs).toBeGreaterThan(15_000);
    expect(second.retryAfterMs).toBeLessThanOrEqual(21_000);
  });

  it('X-RateLimit-Reset is read against the answer’s Date, not this host’s clock', async () => {
    // The server's clock is years away from this host's: only its own Date makes sense of Reset.
    const serverNow = Date.parse('2031-05-06T07:08:09Z');
    const server = await serve(() =>
      json('error-rate-limited', 429, {
        Date: new Date(serverNow).toUTCString(),
        'X-RateLimit-Reset': String(serverNow / 1000 + 20),
      }),
    );
    const error = (await alpaca(server.url)
      .fetchBars(SPY_MORNING, signal())
      .catch((e: unknown) => e)) as TransientProviderError;
    expect(error).toMatchObject({
      rateLimited: true,
      status: 429,
      retryAfterMs: 20_000,
      waitHeader: 'X-RateLimit-Reset',
    });
  });

  it('a Retry-After date is read against the answer’s Date too, and named as Retry-After', async () => {
    const serverNow = Date.parse('2019-01-02T03:04:05Z');
    const server = await serve(() =>
      json('error-rate-limited', 429, {
        Date: new Date(serverNow).toUTCString(),
        'Retry-After': new Date(serverNow + 30_000).toUTCString(),
        'X-RateLimit-Reset': String(serverNow / 1000 + 600),
      }),
    );
    const error = (await alpaca(server.url)
      .fetchBars(SPY_MORNING, signal())
      .catch((e: unknown) => e)) as TransientProviderError;
    expect(error).toMatchObject({ retryAfterMs: 30_000, waitHeader: 'Retry-After' });
  });

  it('429 then success through the pipeline: waits Retry-After without spending an attempt', async () => {
    let calls = 0;
    const server = await serve(() =>
      ++calls === 1
        ? json('error-rate-limited', 429, { 'Retry-After': '1' })
        : json('spy-1min-page3'),
    );
    const started = performance.now();
    const window = await pipelineFetch(alpaca(server.url), SPY_MORNING);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(window.valid).toHaveLength(2);
    expect(window.outcomes.map((o) => o.status)).toEqual(['rate_limited', 'ok']);
    expect(window.retries).toEqual([]);
  });

  it('500 then success: retried as transient', async () => {
    let calls = 0;
    const server = await serve(() =>
      ++calls === 1
        ? { status: 503, json: { message: 'service unavailable' } }
        : json('spy-1min-page3'),
    );
    const window = await pipelineFetch(alpaca(server.url), SPY_MORNING);
    expect(window.valid).toHaveLength(2);
    expect(window.retries).toHaveLength(1);
    expect(window.retries[0]?.error.message).toContain(
      '503 Service Unavailable: service unavailable',
    );
  });

  it("401 is permanent with Alpaca's message, and neither credential appears in it", async () => {
    const server = await serve(() => json('error-unauthorized', 401));
    const error = await pipelineFetch(alpaca(server.url), SPY_MORNING).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toContain(
      '401 Unauthorized: request is not authorized (code 40110000)',
    );
    expect((error as Error).message).not.toContain(SECRET);
    expect((error as Error).message).not.toContain(KEY_ID);
    expect(server.requests).toHaveLength(1);
  });

  it('an invalid symbol (400) is permanent with the message', async () => {
    const server = await serve(() => json('error-invalid-symbol', 400));
    const error = await pipelineFetch(alpaca(server.url), { ...SPY_MORNING, symbol: 'SP Y' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toContain('invalid symbol: SP Y');
    expect(server.requests[0]?.url.searchParams.get('symbols')).toBe('SP Y');
  });

  it('malformed JSON is transient and fails only when retries run out', async () => {
    const server = await serve(() => ({
      status: 200,
      text: '{"bars":{"SPY":[{"t":"2024-01-02T14:30',
    }));
    const error = await pipelineFetch(alpaca(server.url), SPY_MORNING).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as Error).message).toContain('not JSON');
  });

  it('a missing field fails loudly naming it', async () => {
    const server = await serve(() => json('spy-1min-missing-high'));
    const error = await pipelineFetch(alpaca(server.url), SPY_MORNING).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/bars\.SPY\[1\]\.h: .*expected number/);
  });

  it('a time that is not RFC-3339 names the field', async () => {
    const server = await serve(() => ({
      json: {
        bars: { SPY: [{ t: 1704205800, o: 1, h: 1, l: 1, c: 1, v: 1 }] },
        next_page_token: null,
      },
    }));
    const error = await alpaca(server.url)
      .fetchBars(SPY_MORNING, signal())
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/bars\.SPY\[0\]\.t: /);
  });

  it('a full last page without a next_page_token is flagged incomplete', async () => {
    const server = await serve(() => json('spy-1min-page3'));
    const window = await pipelineFetch(alpaca(server.url, { limit: 2 }), SPY_MORNING);
    expect(window.complete).toBe(false);
    expect(window.incompleteReason).toContain('a full page of 2 bars (limit 2)');
  });
});
