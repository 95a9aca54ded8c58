import type { Bar } from '../../core/bar.js';
import type { AlpacaProviderConfig } from '../../core/config/config-schema.js';
import { alignUp, type Interval } from '../../core/interval.js';
import type {
  BatchFetchRequest,
  FetchRequest,
  FetchResult,
  Provider,
  SendGate,
} from '../../core/provider.js';
import { parseResponse } from '../http/parse-response.js';
import { requestJson } from '../http/request-json.js';
import { NEW_YORK, TimeZone } from '../time/time-zone.js';
import {
  alpacaBarsSchema,
  alpacaErrorMessage,
  alpacaRateLimitWait,
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
 * every page. `fetchBatch` names up to `symbols_per_request` symbols in one request: Alpaca's
 * `limit` then counts bars across them, and the token continues the whole batch.
 */
export class AlpacaProvider implements Provider {
  readonly maxBarsPerRequest: number;
  readonly maxSymbolsPerRequest: number;
  readonly pacesAtSend = true;
  private readonly newYork = new TimeZone(NEW_YORK);

  constructor(
    readonly name: string,
    private readonly config: AlpacaProviderConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.maxBarsPerRequest = config.limit;
    this.maxSymbolsPerRequest = config.symbols_per_request;
  }

  /** One symbol's bars; any other symbol in the answer is kept, for the pipeline to reject. */
  fetchBars(request: FetchRequest, signal: AbortSignal, gate?: SendGate): Promise<FetchResult> {
    const { symbol, ...window } = request;
    return this.fetchBatch({ ...window, symbols: [symbol] }, signal, gate);
  }

  async fetchBatch(
    request: BatchFetchRequest,
    signal: AbortSignal,
    gate?: SendGate,
  ): Promise<FetchResult> {
    const start = alignUp(request.start, request.interval);
    if (start >= request.end || request.symbols.length === 0) return { bars: [] };
    const url = new URL(`${this.config.base_url}/v2/stocks/bars`);
    const query = url.searchParams;
    query.set('symbols', request.symbols.join(','));
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
      gate,
      errorMessage: alpacaErrorMessage,
      rateLimitWait: alpacaRateLimitWait,
      now: this.now,
    });
    const page = parseResponse(
      alpacaBarsSchema,
      body,
      this.name,
      `bars of ${request.symbols.join(',')}`,
    );
    const bars: Bar[] = [];
    for (const [symbol, raw] of Object.entries(page.bars ?? {})) {
      for (const bar of raw) bars.push(this.toBar(bar, symbol, request.interval));
    }
    const next = page.next_page_token ?? undefined;
    if (next === undefined && bars.length >= this.config.limit) {
      // A full last page: Alpaca stopped at `limit` yet offered no way on.
      return {
        bars,
        complete: false,
        incompleteReason: `a full page of ${bars.length} bars (limit ${this.config.limit}) came without a next_page_token`,
      };
    }
    return { bars, next, complete: true };
  }

  private toBar(bar: AlpacaBar, symbol: string, interval: Interval): Bar {
    return {
      provider: this.name,
      symbol,
      interval,
      // A daily bar opens at midnight New York time; mdp stamps it with the date's UTC midnight.
      ts: interval === '1d' ? this.newYork.dateOf(bar.t) : bar.t,
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
