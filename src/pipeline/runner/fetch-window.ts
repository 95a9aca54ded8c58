import type { Logger } from 'pino';
import type { Bar } from '../../core/bar.js';
import { PermanentProviderError } from '../../core/errors.js';
import {
  toFetchResult,
  type FetchRequest,
  type FetchResult,
  type UnparsedRow,
} from '../../core/provider.js';
import type { RejectedBar } from '../../store/store.js';
import { validateBars, type ValidationResult } from '../bar-validator.js';

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
      if (!complete) {
        logger.warn(
          {
            provider,
            symbol: request.symbol,
            windowStart: new Date(request.start).toISOString(),
            windowEnd: new Date(request.end).toISOString(),
            bars: bars.length,
            reason: answer.incompleteReason,
          },
          'provider answer stops short of the window without a continuation; keeping what came, flagged incomplete',
        );
      }
      const { valid, rejected } = validateBars(bars, request, provider);
      return {
        valid,
        rejected:
          unparsed.length === 0
            ? rejected
            : [...unparsedRejects(unparsed, request, provider), ...rejected],
        complete,
        ...(complete ? {} : { incompleteReason: answer.incompleteReason ?? 'not given' }),
        pages,
      };
    }
    if (next === cursor || pages >= MAX_PAGES) {
      throw new PermanentProviderError(
        provider,
        `pagination of ${request.symbol} does not advance after ${pages} pages (continuation ${next === cursor ? 'repeated' : 'never ends'})`,
      );
    }
    cursor = next;
  }
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
