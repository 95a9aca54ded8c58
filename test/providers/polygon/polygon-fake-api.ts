import type { FixtureHandler, FixtureReply } from '../../helpers/fixture-server.js';
import { sessionBars, type SessionBar } from '../../helpers/market-session-bars.js';

const PATH = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/(\d+)\/(minute|day)\/([^/]+)\/([^/]+)$/;

/** A bound `YYYY-MM-DD` (that whole day) or epoch ms, as Polygon reads from/to. */
function bound(text: string, end: boolean): number {
  if (/^\d+$/.test(text)) return Number(text);
  const day = Date.parse(`${text}T00:00:00Z`);
  return end ? day + 86_400_000 - 1 : day;
}

/** Index aggregates (`I:SPX`) as Polygon documents them: values, not trades, so no v, vw or n. */
function indexAggregate({ t, o, h, l, c }: SessionBar): Omit<SessionBar, 'v' | 'vw' | 'n'> {
  return { t, o, h, l, c };
}

/**
 * A fake of Polygon's aggregates endpoint for 1-minute and daily bars, in the documented format:
 * pages of at most `pageSize` results with a `next_url` (on api.polygon.io, without the key, as
 * Polygon sends it), a 401 without the Bearer key, and scripted replies for the first requests.
 * Index tickers (`I:` prefix) answer without v, vw and n, as Polygon's index aggregates do.
 */
export function polygonFakeApi(options: {
  readonly apiKey: string;
  readonly pageSize: number;
  /** Replies for request 1, 2, … before the real answers (e.g. a 429, a 500). */
  readonly script?: readonly FixtureReply[];
}): FixtureHandler {
  let count = 0;
  return ({ url, headers }) => {
    const scripted = options.script?.[count++];
    if (scripted) return scripted;
    if (headers.authorization !== `Bearer ${options.apiKey}`) {
      return {
        status: 401,
        json: { status: 'ERROR', request_id: 'r401', error: 'Unknown API Key' },
      };
    }
    const match = PATH.exec(url.pathname);
    if (!match) return { status: 404, json: { status: 'NOT_FOUND', message: 'Not Found' } };
    const [, encodedTicker, multiplier, timespan, from, to] = match as unknown as [
      string,
      string,
      string,
      'minute' | 'day',
      string,
      string,
    ];
    const ticker = decodeURIComponent(encodedTicker);
    if (multiplier !== '1')
      return { status: 400, json: { status: 'ERROR', error: 'fake serves multiplier 1 only' } };
    const all = sessionBars(ticker, timespan, bound(from, false), bound(to, true));
    const offset = Number(
      Buffer.from(url.searchParams.get('cursor') ?? 'MA==', 'base64').toString(),
    );
    const page = all.slice(offset, offset + options.pageSize);
    const results = ticker.startsWith('I:') ? page.map(indexAggregate) : page;
    const more = offset + options.pageSize < all.length;
    return {
      json: {
        ticker,
        queryCount: results.length,
        resultsCount: results.length,
        adjusted: url.searchParams.get('adjusted') !== 'false',
        ...(results.length > 0 ? { results } : {}),
        status: 'OK',
        request_id: `req-${count}`,
        ...(more
          ? {
              next_url: `https://api.polygon.io${url.pathname}?cursor=${Buffer.from(String(offset + options.pageSize)).toString('base64')}`,
            }
          : {}),
      },
    };
  };
}
