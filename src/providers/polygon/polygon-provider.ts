import type { Bar } from '../../core/bar.js';
import type { PolygonProviderConfig } from '../../core/config/config-schema.js';
import { PermanentProviderError } from '../../core/errors.js';
import { alignUp, type Interval } from '../../core/interval.js';
import type { FetchRequest, FetchResult, Provider, SendGate } from '../../core/provider.js';
import { parseResponse } from '../http/parse-response.js';
import { requestJson } from '../http/request-json.js';
import { NEW_YORK, TimeZone } from '../time/time-zone.js';
import {
  POLYGON_OK_STATUSES,
  isPolygonIndexTicker,
  polygonAggregatesSchema,
  polygonErrorMessage,
  polygonIndexAggregatesSchema,
  type PolygonAggregate,
  type PolygonAggregates,
} from './polygon-response-schema.js';

/** Polygon's `{multiplier}/{timespan}` for each mdp interval. */
const RANGES: Readonly<Record<Interval, readonly [number, 'minute' | 'hour' | 'day']>> = {
  '1m': [1, 'minute'],
  '5m': [5, 'minute'],
  '15m': [15, 'minute'],
  '30m': [30, 'minute'],
  '1h': [1, 'hour'],
  '4h': [4, 'hour'],
  '1d': [1, 'day'],
};

const DAY_MS = 86_400_000;

/**
 * Polygon.io aggregates (`/v2/aggs/ticker/{symbol}/range/{multiplier}/{timespan}/{from}/{to}`).
 * One call is one HTTP request: a page with `next_url` returns it as the continuation, so the
 * pipeline paces, times out and retries every page. The key travels in the Authorization header
 * (which Polygon accepts as well as `?apiKey=`), so no URL mdp builds or logs ever holds it.
 *
 * Polygon answers an unknown ticker like a day without trades (200, no results), so an unknown
 * symbol cannot be told from a holiday here.
 */
export class PolygonProvider implements Provider {
  readonly maxBarsPerRequest: number;
  readonly pacesAtSend = true;
  private readonly newYork = new TimeZone(NEW_YORK);

  constructor(
    readonly name: string,
    private readonly config: PolygonProviderConfig,
    private readonly now: () => number = Date.now,
  ) {
    // `limit` caps the base (minute or day) aggregates behind a page, so a page holds at most
    // `limit` bars; chunks of that many bars mostly fit one page, and next_url covers the rest.
    this.maxBarsPerRequest = config.limit;
  }

  async fetchBars(
    request: FetchRequest,
    signal: AbortSignal,
    gate?: SendGate,
  ): Promise<FetchResult> {
    const url = request.cursor === undefined ? this.firstPage(request) : this.nextPage(request);
    if (url === undefined) return { bars: [] };
    const body = await requestJson({
      provider: this.name,
      url,
      headers: { authorization: `Bearer ${this.config.api_key}` },
      signal,
      gate,
      errorMessage: polygonErrorMessage,
      now: this.now,
    });
    // Only an index may leave out the volume: for a stock a missing `v` is a changed API.
    const schema = isPolygonIndexTicker(request.symbol)
      ? polygonIndexAggregatesSchema
      : polygonAggregatesSchema;
    const page: PolygonAggregates = parseResponse(
      schema,
      body,
      this.name,
      `aggregates of ${request.symbol}`,
    );
    if (!POLYGON_OK_STATUSES.includes(page.status)) {
      throw new PermanentProviderError(
        this.name,
        `aggregates of ${request.symbol}: status ${polygonErrorMessage(page) ?? page.status}`,
      );
    }
    if (page.ticker !== undefined && page.ticker.toUpperCase() !== request.symbol.toUpperCase()) {
      throw new PermanentProviderError(
        this.name,
        `asked for the aggregates of ${request.symbol} but the answer is for ticker ${page.ticker}`,
      );
    }
    const results = page.results ?? [];
    const bars = results.map((aggregate) => this.toBar(aggregate, request));
    const next = page.next_url === undefined ? undefined : this.cursorOf(page.next_url);
    return { bars, next, ...this.completeness(page.queryCount, page.resultsCount, results, next) };
  }

  /** The first page's URL, or undefined when the window holds no bar open time. */
  private firstPage({ symbol, interval, start, end }: FetchRequest): URL | undefined {
    const [multiplier, timespan] = RANGES[interval];
    let from: string;
    let to: string;
    if (timespan === 'day') {
      // Daily bars are asked for by trading date; mdp's daily bar of a date opens at its UTC midnight.
      const first = alignUp(start, interval);
      const last = alignUp(end, interval) - DAY_MS;
      if (last < first) return undefined;
      from = isoDate(first);
      to = isoDate(last);
    } else {
      const first = alignUp(start, interval);
      if (first >= end) return undefined;
      // Millisecond bounds are inclusive; `end - 1` keeps the window half-open.
      from = String(first);
      to = String(end - 1);
    }
    const path = `/v2/aggs/ticker/${encodeURIComponent(symbol)}/range/${multiplier}/${timespan}/${from}/${to}`;
    const url = new URL(`${this.config.base_url}${path}`);
    url.searchParams.set('adjusted', String(this.config.adjusted));
    url.searchParams.set('sort', 'asc');
    url.searchParams.set('limit', String(this.config.limit));
    return url;
  }

  /**
   * The continuation's URL, on our base_url whatever host next_url names: the credentials only ever
   * go where the config sends them, and a proxy in base_url stays in the path.
   */
  private nextPage(request: FetchRequest): URL {
    return new URL(`${this.config.base_url}${request.cursor as string}`);
  }

  /** next_url as a cursor: path and query only, without any key Polygon might one day echo. */
  private cursorOf(nextUrl: string): string {
    let url: URL;
    try {
      url = new URL(nextUrl, this.config.base_url);
    } catch {
      throw new PermanentProviderError(
        this.name,
        `next_url is not a URL: ${nextUrl.slice(0, 200)}`,
      );
    }
    if (!url.pathname.startsWith('/v2/aggs/')) {
      throw new PermanentProviderError(
        this.name,
        `next_url points outside the aggregates endpoint (${url.pathname}); refusing to follow it`,
      );
    }
    url.searchParams.delete('apiKey');
    return `${url.pathname}${url.search}`;
  }

  private toBar(aggregate: PolygonAggregate, request: FetchRequest): Bar {
    return {
      provider: this.name,
      symbol: request.symbol,
      interval: request.interval,
      // A daily aggregate opens at midnight New York time; mdp stamps it with the date's UTC midnight.
      ts: request.interval === '1d' ? this.newYork.dateOf(aggregate.t) : aggregate.t,
      open: aggregate.o,
      high: aggregate.h,
      low: aggregate.l,
      close: aggregate.c,
      volume: aggregate.v ?? null,
      vwap: aggregate.vw ?? null,
      tradeCount: aggregate.n ?? null,
    };
  }

  /**
   * A last page that used up `limit` base aggregates, or holds fewer results than it counts, was cut
   * short: what is missing cannot be asked for, so the page says so instead of passing as whole.
   */
  private completeness(
    queryCount: number | undefined,
    resultsCount: number | undefined,
    results: readonly PolygonAggregate[],
    next: string | undefined,
  ): Pick<FetchResult, 'complete' | 'incompleteReason'> {
    if (next !== undefined) return { complete: true };
    if (resultsCount !== undefined && results.length < resultsCount) {
      return {
        complete: false,
        incompleteReason: `the page holds ${results.length} of the ${resultsCount} results it counts, and no next_url`,
      };
    }
    if (queryCount !== undefined && queryCount >= this.config.limit) {
      return {
        complete: false,
        incompleteReason: `the page used all ${this.config.limit} base aggregates of limit and gave no next_url`,
      };
    }
    return { complete: true };
  }
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Builds a Polygon provider from its config entry, for the provider registry. */
export function createPolygonProvider(
  name: string,
  config: PolygonProviderConfig,
): PolygonProvider {
  return new PolygonProvider(name, config);
}
