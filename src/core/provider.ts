import type { Bar } from './bar.js';
import type { Interval } from './interval.js';

/** A request for the bars of one symbol whose open time lies in `[start, end)` (epoch ms). */
export interface FetchRequest {
  readonly symbol: string;
  readonly interval: Interval;
  readonly start: number;
  readonly end: number;
  /**
   * The `next` of the previous page of this same request: the provider's own continuation token,
   * opaque to the pipeline. Absent on a first page.
   */
  readonly cursor?: string;
}

/**
 * A request for the bars of several symbols over the same window `[start, end)`, answered by one
 * provider call per page (see Provider.fetchBatch).
 */
export interface BatchFetchRequest {
  readonly symbols: readonly string[];
  readonly interval: Interval;
  readonly start: number;
  readonly end: number;
  /** The `next` of the previous page of this same batch; absent on a first page. */
  readonly cursor?: string;
}

/**
 * A row the provider received but could not turn into a bar (an unparseable CSV line, say). The
 * pipeline records it in `bars_rejected` with reason `unparseable`, like a bar that fails validation.
 */
export interface UnparsedRow {
  /** Where the row came from, e.g. `/data/AAPL.csv:17`. */
  readonly source: string;
  /** The row as the provider read it. */
  readonly text: string;
  /** What is wrong with it, naming the field. */
  readonly error: string;
  /** The row's open time when it could be read; otherwise the time of its neighbours, if any. */
  readonly ts?: number;
  /** The row's symbol, when a batch answer says; a single-symbol answer's rows are its symbol's. */
  readonly symbol?: string;
}

/**
 * One page of an answer, for providers that have more to say than a list of bars. A provider may
 * still return a plain `Bar[]`: that is a complete page with no continuation and nothing unparsed.
 */
export interface FetchResult {
  /** The bars of the page, ascending by `ts`. */
  readonly bars: readonly Bar[];
  /** Rows that could not be read as bars; they are recorded as rejects, never dropped silently. */
  readonly unparsed?: readonly UnparsedRow[];
  /**
   * More of the window is available: ask again with the same request and `cursor: next`. Each page
   * is a separate call, so pacing, the request timeout and retries apply to every page.
   */
  readonly next?: string;
  /**
   * False when the provider shows that its answer stops short of the window with no way to
   * continue (a full page without a continuation token). Such a window is not checkpointed.
   */
  readonly complete?: boolean;
  /** Why the page is incomplete, in the provider's terms, for the log. */
  readonly incompleteReason?: string;
}

/**
 * Takes one request's share of the provider's pacing budget, waiting for it if need be; rejects
 * with the run's abort reason. Given to a provider that `pacesAtSend`, which awaits it once per
 * request it sends, as late as it can: on a connection already open, right before the request is
 * written, so a request reaches the server as soon and as steadily after its take as possible
 * (a server's bucket refills from arrivals: a request that travels faster than the one before
 * it, by more than the pacing's margin, is refused).
 */
export type SendGate = () => Promise<void>;

/**
 * The protocol every provider implements. Errors are TransientProviderError (worth a retry) or
 * PermanentProviderError (not); anything else is treated as transient by the retry policy.
 */
export interface Provider {
  /** The config key, e.g. `synthetic_1`. */
  readonly name: string;
  /** The provider's page size; drives the backfill chunk size. */
  readonly maxBarsPerRequest: number;
  /**
   * True when every interval has a bar (a synthetic or 24/7 series), so an answer with fewer bars
   * than the window holds is a short page, refetched and, if it stays short, recorded as such.
   * Exchange-hours data has gaps by nature and leaves this unset.
   */
  readonly gapless?: boolean;
  /**
   * True when the provider awaits the `gate` of fetchBars and fetchBatch before each request it
   * sends (see SendGate); otherwise the pipeline takes the budget before calling, and gives none.
   */
  readonly pacesAtSend?: boolean;
  fetchBars(
    request: FetchRequest,
    signal: AbortSignal,
    gate?: SendGate,
  ): Promise<Bar[] | FetchResult>;
  /**
   * Most symbols one `fetchBatch` call may name; with `fetchBatch`, the pipeline asks for up to
   * this many symbols whose windows coincide in one paced request instead of one request each.
   */
  readonly maxSymbolsPerRequest?: number;
  /**
   * Optional: the bars of several symbols in one call. Each bar names its symbol; the page's
   * `next` continues the whole batch, and `complete: false` applies to every symbol in it. A page
   * may hold any mix of the symbols in any order (the pipeline validates symbol by symbol).
   */
  fetchBatch?(
    request: BatchFetchRequest,
    signal: AbortSignal,
    gate?: SendGate,
  ): Promise<FetchResult>;
}

/** A provider that can answer several symbols in one request. */
export type BatchProvider = Provider & {
  readonly maxSymbolsPerRequest: number;
  fetchBatch(
    request: BatchFetchRequest,
    signal: AbortSignal,
    gate?: SendGate,
  ): Promise<FetchResult>;
};

/** True when `provider` takes batches of more than one symbol. */
export function isBatchProvider(provider: Provider): provider is BatchProvider {
  return provider.fetchBatch !== undefined && (provider.maxSymbolsPerRequest ?? 1) > 1;
}

/** A FetchResult however the provider answered: a plain `Bar[]` is a complete final page. */
export function toFetchResult(answer: readonly Bar[] | FetchResult): FetchResult {
  return isBarList(answer) ? { bars: answer } : answer;
}

function isBarList(answer: readonly Bar[] | FetchResult): answer is readonly Bar[] {
  return Array.isArray(answer);
}
