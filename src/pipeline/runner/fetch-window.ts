import type { Logger } from 'pino';
import type { Bar } from '../../core/bar.js';
import { PermanentProviderError } from '../../core/errors.js';
import {
  toFetchResult,
  type BatchFetchRequest,
  type FetchRequest,
  type FetchResult,
  type UnparsedRow,
} from '../../core/provider.js';
import type { RejectedBar } from '../../store/store.js';
import { rejectedBar, validateBars, type ValidationResult } from '../bar-validator.js';

/** A window's bars as the provider gave them, page after page, validated. */
export interface FetchedWindow extends ValidationResult {
  /**
   * False when the provider's answer stops short of the window with no way to continue
   * (FetchResult.complete); the bars that came are still good.
   */
  readonly complete: boolean;
  /** The provider's account of what is missing, when incomplete. */
  readonly incompleteReason?: string;
  /** Provider calls the window took: one per page. */
  readonly pages: number;
}

/** A batch's window, symbol by symbol. */
export interface BatchWindow {
  /** Every symbol of the batch, in the batch's order, with or without bars. */
  readonly windows: ReadonlyMap<string, FetchedWindow>;
  /** Bars of symbols the batch did not name: rejected as `wrong_series`, under their own symbol. */
  readonly foreign: readonly RejectedBar[];
  /** Provider calls the batch took: one per page, shared by all its symbols. */
  readonly pages: number;
}

/** A window needing more pages than this is a provider whose continuation never ends. */
const MAX_PAGES = 10_000;

/**
 * Fetches the whole of `request`'s window: the first page, then each page the provider's
 * continuation token names, every one through `callPage` (so each is paced, timed out and retried
 * on its own, and a failure on page 3 repeats page 3 only). All pages are validated together, so a
 * bar repeated across pages is a duplicate like one repeated within a page; rows the provider could
 * not parse become rejects with reason `unparseable`. An incomplete page is logged here, for live
 * and backfill alike.
 */
export async function fetchWindow(
  request: FetchRequest,
  provider: string,
  callPage: (page: FetchRequest) => Promise<Bar[] | FetchResult>,
  logger: Logger,
): Promise<FetchedWindow> {
  const answer = await allPages(request, request.symbol, provider, callPage, logger);
  return validated(answer, answer.bars, answer.unparsed, request, provider);
}

/**
 * fetchWindow for several symbols at once: one page sequence for the whole batch, then each
 * symbol's bars validated as if fetched alone. A symbol with no bars gets an empty window; an
 * incomplete answer leaves every symbol of the batch incomplete, since the provider does not say
 * whose bars are missing.
 */
export async function fetchBatchWindow(
  request: BatchFetchRequest,
  provider: string,
  callPage: (page: BatchFetchRequest) => Promise<FetchResult>,
  logger: Logger,
): Promise<BatchWindow> {
  const answer = await allPages(request, request.symbols.join(','), provider, callPage, logger);
  const barsOf = new Map<string, Bar[]>(request.symbols.map((symbol) => [symbol, []]));
  const foreign: RejectedBar[] = [];
  for (const bar of answer.bars) {
    const own = barsOf.get(bar.symbol);
    if (own) own.push(bar);
    else foreign.push(rejectedBar(bar, 'wrong_series', { ...bar, provider }));
  }
  // A row the provider could not tie to a symbol is recorded under the batch's symbols together.
  const unparsedOf = new Map<string, UnparsedRow[]>();
  for (const row of answer.unparsed) {
    const symbol = row.symbol ?? request.symbols.join(',');
    const rows = unparsedOf.get(symbol);
    if (rows) rows.push(row);
    else unparsedOf.set(symbol, [row]);
  }
  const windows = new Map<string, FetchedWindow>();
  for (const [symbol, bars] of barsOf) {
    const unparsed = unparsedOf.get(symbol) ?? [];
    unparsedOf.delete(symbol);
    windows.set(symbol, validated(answer, bars, unparsed, { ...request, symbol }, provider));
  }
  for (const [symbol, rows] of unparsedOf) {
    foreign.push(...unparsedRejects(rows, { ...request, symbol }, provider));
  }
  return { windows, foreign, pages: answer.pages };
}

/** Every page of one request, concatenated. */
interface Pages {
  readonly bars: readonly Bar[];
  readonly unparsed: readonly UnparsedRow[];
  readonly complete: boolean;
  readonly incompleteReason?: string;
  readonly pages: number;
}

async function allPages<R extends { readonly start: number; readonly end: number }>(
  request: R,
  symbols: string,
  provider: string,
  callPage: (page: R & { readonly cursor?: string }) => Promise<Bar[] | FetchResult>,
  logger: Logger,
): Promise<Pages> {
  let bars: readonly Bar[] = [];
  const unparsed: UnparsedRow[] = [];
  let cursor: string | undefined;
  for (let pages = 1; ; pages++) {
    const answer = toFetchResult(
      await callPage(cursor === undefined ? request : { ...request, cursor }),
    );
    bars = bars.length === 0 ? answer.bars : bars.concat(answer.bars);
    if (answer.unparsed) unparsed.push(...answer.unparsed);
    const next = answer.next;
    const complete = answer.complete ?? true;
    if (next === undefined || !complete) {
      if (complete) return { bars, unparsed, complete, pages };
      logger.warn(
        {
          provider,
          symbol: symbols,
          windowStart: new Date(request.start).toISOString(),
          windowEnd: new Date(request.end).toISOString(),
          bars: bars.length,
          reason: answer.incompleteReason,
        },
        'provider answer stops short of the window without a continuation; keeping what came, flagged incomplete',
      );
      const incompleteReason = answer.incompleteReason ?? 'not given';
      return { bars, unparsed, complete, incompleteReason, pages };
    }
    if (next === cursor || pages >= MAX_PAGES) {
      throw new PermanentProviderError(
        provider,
        `pagination of ${symbols} does not advance after ${pages} pages (continuation ${next === cursor ? 'repeated' : 'never ends'})`,
      );
    }
    cursor = next;
  }
}

/** One symbol's share of the pages, validated against its window. */
function validated(
  answer: Pages,
  bars: readonly Bar[],
  unparsed: readonly UnparsedRow[],
  request: FetchRequest,
  provider: string,
): FetchedWindow {
  const { valid, rejected } = validateBars(bars, request, provider);
  return {
    valid,
    rejected:
      unparsed.length === 0
        ? rejected
        : [...unparsedRejects(unparsed, request, provider), ...rejected],
    complete: answer.complete,
    ...(answer.complete ? {} : { incompleteReason: answer.incompleteReason ?? 'not given' }),
    pages: answer.pages,
  };
}

/** Rows a provider could not parse, as `bars_rejected` rows that say where they came from. */
function unparsedRejects(
  rows: readonly UnparsedRow[],
  request: FetchRequest,
  provider: string,
): RejectedBar[] {
  return rows.map((row) => ({
    provider,
    symbol: request.symbol,
    interval: request.interval,
    ts: row.ts === undefined || !Number.isFinite(row.ts) ? 0 : Math.floor(row.ts),
    reason: 'unparseable',
    raw: JSON.stringify({ source: row.source, error: row.error, row: row.text }),
  }));
}
