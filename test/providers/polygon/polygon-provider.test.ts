import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { polygonProviderSchema } from '../../../src/core/config/config-schema.js';
import {
  PermanentProviderError,
  RetriesExhaustedError,
  TransientProviderError,
} from '../../../src/core/errors.js';
import type { FetchRequest } from '../../../src/core/provider.js';
import { PolygonProvider } from '../../../src/providers/polygon/polygon-provider.js';
import { useFixtureServer, type FixtureReply } from '../../helpers/fixture-server.js';
import { pipelineFetch } from '../../helpers/pipeline-fetch.js';

const KEY = 'pk_test_Zq81xY3vLmN0';
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as unknown;
const json = (name: string, status = 200, headers?: Record<string, string>): FixtureReply => ({
  status,
  json: fixture(name),
  ...(headers ? { headers } : {}),
});

const day = (date: string): number => Date.parse(`${date}T00:00:00Z`);
const AAPL_DAILY: FetchRequest = {
  symbol: 'AAPL',
  interval: '1d',
  start: day('2020-01-02'),
  end: day('2020-01-11'),
};
const SPY_OPEN: FetchRequest = {
  symbol: 'SPY',
  interval: '1m',
  start: Date.parse('2024-01-02T14:30:00Z'),
  end: Date.parse('2024-01-02T14:33:00Z'),
};

function polygon(baseUrl: string, config: Record<string, unknown> = {}): PolygonProvider {
  return new PolygonProvider(
    'polygon_1',
    polygonProviderSchema.parse({ type: 'polygon', api_key: KEY, base_url: baseUrl, ...config }),
  );
}

const signal = (): AbortSignal => new AbortController().signal;

describe('polygon provider against a local server in the documented format', () => {
  const serve = useFixtureServer();

  it('follows next_url across three pages, each its own request, with the key only in a header', async () => {
    const server = await serve(({ url }) => {
      const cursor = url.searchParams.get('cursor');
      if (cursor === null) return json('aapl-1day-page1');
      if (cursor === 'bGltaXQ9MiZzb3J0PWFzYw') return json('aapl-1day-page2');
      return json('aapl-1day-page3');
    });
    const window = await pipelineFetch(polygon(server.url), AAPL_DAILY);

    expect(window.pages).toBe(3);
    expect(window.complete).toBe(true);
    expect(window.rejected).toEqual([]);
    expect(window.valid.map((bar) => new Date(bar.ts).toISOString().slice(0, 10))).toEqual([
      '2020-01-02',
      '2020-01-03',
      '2020-01-06',
      '2020-01-07',
      '2020-01-08',
      '2020-01-09',
      '2020-01-10',
    ]);
    // Daily aggregates open at New York midnight (05:00Z); mdp stamps the date's UTC midnight.
    expect(window.valid[0]).toEqual({
      provider: 'polygon_1',
      symbol: 'AAPL',
      interval: '1d',
      ts: day('2020-01-02'),
      open: 74.06,
      high: 75.15,
      low: 73.7975,
      close: 75.0875,
      volume: 135647456,
      vwap: 74.6099,
      tradeCount: 1,
    });

    const [first, second, third] = server.requests;
    expect(first?.url.pathname).toBe('/v2/aggs/ticker/AAPL/range/1/day/2020-01-02/2020-01-10');
    expect(Object.fromEntries(first?.url.searchParams ?? [])).toEqual({
      adjusted: 'true',
      sort: 'asc',
      limit: '50000',
    });
    // next_url names api.polygon.io; the request stays on base_url, cursor and path as given.
    expect(second?.url.pathname).toBe('/v2/aggs/ticker/AAPL/range/1/day/1578114000000/2020-01-10');
    expect(second?.url.searchParams.get('cursor')).toBe('bGltaXQ9MiZzb3J0PWFzYw');
    expect(third?.url.searchParams.get('cursor')).toBe('bGltaXQ9MiZzb3J0PWFzYyZwYWdlPTM');
    for (const request of server.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(request.url.toString()).not.toContain(KEY);
    }
    expect(window.outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('asks for minute bars by millisecond bounds (end exclusive) and reads DELAYED pages', async () => {
    const server = await serve(() => json('spy-1min-open'));
    const window = await pipelineFetch(polygon(server.url, { adjusted: false }), SPY_OPEN);
    expect(server.requests[0]?.url.pathname).toBe(
      `/v2/aggs/ticker/SPY/range/1/minute/${SPY_OPEN.start}/${SPY_OPEN.end - 1}`,
    );
    expect(server.requests[0]?.url.searchParams.get('adjusted')).toBe('false');
    expect(window.valid.map((bar) => bar.ts)).toEqual([
      SPY_OPEN.start,
      SPY_OPEN.start + 60_000,
      SPY_OPEN.start + 120_000,
    ]);
    // vw and n are optional in the documented response.
    expect(window.valid[2]).toMatchObject({ vwap: null, tradeCount: null, close: 472.05 });
  });

  it('maps intervals to multiplier/timespan', async () => {
    const server = await serve(() => json('spy-1day-holiday'));
    const provider = polygon(server.url);
    const hour = Date.parse('2024-01-02T00:00:00Z');
    await provider.fetchBars({ ...SPY_OPEN, interval: '5m' }, signal());
    await provider.fetchBars(
      { ...SPY_OPEN, interval: '4h', start: hour, end: hour + 8 * 3_600_000 },
      signal(),
    );
    expect(server.requests.map((r) => r.url.pathname.split('/').slice(6, 8).join('/'))).toEqual([
      '5/minute',
      '4/hour',
    ]);
  });

  it('an empty day (a holiday, results omitted) is an empty, complete page', async () => {
    const server = await serve(() => json('spy-1day-holiday'));
    const window = await pipelineFetch(polygon(server.url), {
      symbol: 'SPY',
      interval: '1d',
      start: day('2024-01-01'),
      end: day('2024-01-02'),
    });
    expect(server.requests[0]?.url.pathname).toBe(
      '/v2/aggs/ticker/SPY/range/1/day/2024-01-01/2024-01-01',
    );
    expect(window).toMatchObject({ valid: [], rejected: [], complete: true, pages: 1 });
  });

  it('429 with Retry-After is rate-limited and transient; the pipeline waits and succeeds', async () => {
    let calls = 0;
    const server = await serve(() =>
      ++calls === 1
        ? json('error-rate-limited', 429, { 'Retry-After': '1' })
        : json('spy-1min-open'),
    );
    const direct = await polygon(server.url)
      .fetchBars(SPY_OPEN, signal())
      .catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(TransientProviderError);
    expect(direct).toMatchObject({ rateLimited: true, retryAfterMs: 1000 });
    expect((direct as Error).message).toContain("You've exceeded the maximum requests per minute");

    calls = 0;
    const started = performance.now();
    const window = await pipelineFetch(polygon(server.url), SPY_OPEN);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(window.valid).toHaveLength(3);
    expect(window.outcomes.map((o) => o.status)).toEqual(['rate_limited', 'ok']);
    // A 429 is not a failure: it spends no attempt.
    expect(window.retries).toEqual([]);
  });

  it('Retry-After as an HTTP date is honoured too', async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    const server = await serve(() => json('error-rate-limited', 429, { 'Retry-After': at }));
    const error = (await polygon(server.url)
      .fetchBars(SPY_OPEN, signal())
      .catch((e: unknown) => e)) as TransientProviderError;
    expect(error.rateLimited).toBe(true);
    expect(error.retryAfterMs).toBeGreaterThan(25_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('500 then success: retried as transient', async () => {
    let calls = 0;
    const server = await serve(() =>
      ++calls === 1 ? { status: 500, text: 'internal error' } : json('spy-1min-open'),
    );
    const window = await pipelineFetch(polygon(server.url), SPY_OPEN);
    expect(window.valid).toHaveLength(3);
    expect(window.retries).toHaveLength(1);
    expect(window.retries[0]?.error).toBeInstanceOf(TransientProviderError);
    expect(window.retries[0]?.error.message).toContain('500 Internal Server Error: internal error');
  });

  it("401 is permanent, not retried, and carries Polygon's message without the key", async () => {
    const server = await serve(() => json('error-unknown-api-key', 401));
    const error = await pipelineFetch(polygon(server.url), SPY_OPEN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toContain('401 Unauthorized: ERROR: Unknown API Key');
    expect((error as Error).message).toContain('check the API key');
    expect((error as Error).message).not.toContain(KEY);
    expect(server.requests).toHaveLength(1);
  });

  it('403 NOT_AUTHORIZED is permanent with the plan message', async () => {
    const server = await serve(() => json('error-not-authorized', 403));
    const error = await pipelineFetch(polygon(server.url), SPY_OPEN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toContain(
      'NOT_AUTHORIZED: You are not entitled to this data. Please upgrade your plan',
    );
  });

  it('404 is permanent', async () => {
    const server = await serve(() => ({
      status: 404,
      json: { status: 'NOT_FOUND', message: 'Not found' },
    }));
    await expect(polygon(server.url).fetchBars(SPY_OPEN, signal())).rejects.toBeInstanceOf(
      PermanentProviderError,
    );
  });

  it('malformed JSON is transient (a body cut short); it keeps failing until retries run out', async () => {
    const server = await serve(() => ({
      status: 200,
      text: '{"ticker":"SPY","results":[{"c":75.08',
    }));
    const error = await pipelineFetch(polygon(server.url), SPY_OPEN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as Error).message).toContain('a body that is not JSON ({"ticker":"SPY"');
    expect(server.requests).toHaveLength(3);
  });

  it('a missing field fails loudly, naming it, and is permanent', async () => {
    const server = await serve(() => json('aapl-1day-missing-close'));
    const error = await pipelineFetch(polygon(server.url), AAPL_DAILY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(
      /aggregates of AAPL does not match the documented response \(the API may have changed\): results\[1\]\.c: .*expected number/,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('index aggregates (I:NDX) come without v, vw and n: volume, vwap and trade count are null', async () => {
    const server = await serve(() => json('ndx-1day'));
    const window = await pipelineFetch(polygon(server.url), {
      symbol: 'I:NDX',
      interval: '1d',
      start: day('2023-03-09'),
      end: day('2023-03-11'),
    });
    expect(server.requests[0]?.url.pathname).toBe(
      '/v2/aggs/ticker/I%3ANDX/range/1/day/2023-03-09/2023-03-10',
    );
    expect(window.rejected).toEqual([]);
    expect(window.valid).toEqual([
      expect.objectContaining({ ts: day('2023-03-09'), close: 11995.88235998666, volume: null }),
      expect.objectContaining({ ts: day('2023-03-10'), close: 11830.28178808306, volume: null }),
    ]);
    expect(window.valid.every((bar) => bar.vwap === null && bar.tradeCount === null)).toBe(true);
  });

  it('a stock page without v is still a changed API: permanent, naming the field', async () => {
    const server = await serve(() => ({
      json: { ...(fixture('ndx-1day') as object), ticker: 'AAPL' },
    }));
    const error = await pipelineFetch(polygon(server.url), AAPL_DAILY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/results\[0\]\.v: .*expected number/);
  });

  it('a page that used the whole limit and gave no next_url is flagged incomplete', async () => {
    const server = await serve(() => json('spy-1min-open'));
    const window = await pipelineFetch(polygon(server.url, { limit: 3 }), SPY_OPEN);
    expect(window.complete).toBe(false);
    expect(window.incompleteReason).toContain('used all 3 base aggregates');
    expect(window.valid).toHaveLength(3);
  });

  it('a refused connection is transient', async () => {
    const server = await serve(() => json('spy-1min-open'));
    await server.close();
    const error = await polygon(server.url)
      .fetchBars(SPY_OPEN, signal())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientProviderError);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('honours the request timeout through the signal', async () => {
    const server = await serve(() => ({ ...json('spy-1min-open'), delayMs: 2_000 }));
    const error = await pipelineFetch(polygon(server.url), SPY_OPEN, {
      timeoutMs: 100,
      retry: { max_attempts: 2, backoff_seconds: 0, max_backoff_seconds: 1, jitter: 'none' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as Error).message).toContain('request timed out after 100 ms');
  });

  it('refuses a next_url outside the aggregates endpoint and drops an echoed apiKey', async () => {
    let page = 0;
    const server = await serve(() => {
      page += 1;
      const body = fixture('spy-1min-open') as Record<string, unknown>;
      if (page === 1)
        return {
          json: { ...body, next_url: 'https://evil.example/v2/aggs/x?cursor=c2&apiKey=leak' },
        };
      if (page === 2)
        return { json: { ...body, next_url: 'https://api.polygon.io/v1/other?cursor=c3' } };
      return { json: body };
    });
    const error = await pipelineFetch(polygon(server.url), SPY_OPEN).catch((e: unknown) => e);
    const followed = server.requests[1];
    expect(`${followed?.url.pathname}${followed?.url.search}`).toBe('/v2/aggs/x?cursor=c2');
    expect(followed?.headers.host).toBe(new URL(server.url).host);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toContain('next_url points outside the aggregates endpoint');
  });
});
