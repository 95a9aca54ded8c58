import type { Bar } from '../../core/bar.js';
import type { AlpacaProviderConfig } from '../../core/config/config-schema.js';
import { alignUp, type Interval } from '../../core/interval.js';
import type { FetchRequest, FetchResult, Provider } from '../../core/provider.js';
import { parseResponse } from '../http/parse-response.js';
import { requestJson } from '../http/request-json.js';
import { NEW_YORK, TimeZone } from '../time/time-zone.js';
import {
  alpacaBarsSchema,
  alpacaErrorMessage,
  alpacaRateLimitWaitMs,
  type AlpacaBar,
} from './alpaca-response-schema.js';

/** Alpaca's `timeframe` for each mdp interval. */
const TIMEFRAMES: Readonly<Record<Interval, string>> = {
  '1m': '1Min',
  '5m': '5Min',
  '15m': '15Min',
  '30m': '30Min',
  '1h': '1Hour',
  '4h': '4Hour',
  '1d': '1Day',
};

/**
 * Alpaca Market Data v2 historical bars (`/v2/stocks/bars`), authenticated by the
 * APCA-API-KEY-ID / APCA-API-SECRET-KEY headers. One call is one HTTP request: a page with a
 * `next_page_token` returns it as the continuation, so the pipeline paces, times out and retries
 * every page. Requests go to the multi-symbol endpoint with the one symbol of the request (the
 * pipeline asks per symbol), and read the answer keyed by symbol.
 */
export class AlpacaProvider implements Provider {
  readonly maxBarsPerRequest: number;
  private readonly newYork = new TimeZone(NEW_YORK);

  constructor(
    readonly name: string,
    private readonly config: AlpacaProviderConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.maxBarsPerRequest = config.limit;
  }

  async fetchBars(request: FetchRequest, signal: AbortSignal): Promise<FetchResult> {
    const start = alignUp(request.start, request.interval);
    if (start >= request.end) return { bars: [] };
    const url = new URL(`${this.config.base_url}/v2/stocks/bars`);
    const query = url.searchParams;
    query.set('symbols', request.symbol);
    query.set('timeframe', TIMEFRAMES[request.interval]);
    query.set('start', new Date(start).toISOString());
    // Alpaca's end is inclusive; a millisecond less keeps the window half-open.
    query.set('end', new Date(request.end - 1).toISOString());
    query.set('limit', String(this.config.limit));
    query.set('feed', this.config.feed);
    query.set('adjustment', this.config.adjustment);
    if (request.cursor !== undefined) query.set('page_token', request.cursor);

    const body = await requestJson({
      provider: this.name,
      url,
      headers: {
        'APCA-API-KEY-ID': this.config.key_id,
        'APCA-API-SECRET-KEY': this.config.secret_key,
      },
      signal,
      errorMessage: alpacaErrorMessage,
      rateLimitWaitMs: alpacaRateLimitWaitMs,
      now: this.now,
    });
    const page = parseResponse(alpacaBarsSchema, body, this.name, `bars of ${request.symbol}`);
    const raw = page.bars?.[request.symbol] ?? [];
    const bars = raw.map((bar) => this.toBar(bar, request));
    const next = page.next_page_token ?? undefined;
    if (next === undefined && raw.length >= this.config.limit) {
      // A full last page: Alpaca stopped at `limit` yet offered no way on.
      return {
        bars,
        complete: false,
        incompleteReason: `a full page of ${raw.length} bars (limit ${this.config.limit}) came without a next_page_token`,
      };
    }
    return { bars, next, complete: true };
  }

  private toBar(bar: AlpacaBar, request: FetchRequest): Bar {
    return {
      provider: this.name,
      symbol: request.symbol,
      interval: request.interval,
      // A daily bar opens at midnight New York time; mdp stamps it with the date's UTC midnight.
      ts: request.interval === '1d' ? this.newYork.dateOf(bar.t) : bar.t,
      open: bar.o,
      high: bar.h,
      low: bar.l,
      close: bar.c,
      volume: bar.v,
      vwap: bar.vw ?? null,
      tradeCount: bar.n ?? null,
    };
  }
}

/** Builds an Alpaca provider from its config entry, for the provider registry. */
export function createAlpacaProvider(name: string, config: AlpacaProviderConfig): AlpacaProvider {
  return new AlpacaProvider(name, config);
}
