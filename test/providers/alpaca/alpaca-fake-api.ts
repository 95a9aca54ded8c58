import type { FixtureHandler, FixtureReply } from '../../helpers/fixture-server.js';
import { sessionBars } from '../../helpers/market-session-bars.js';

/**
 * A fake of Alpaca's `/v2/stocks/bars` for 1Min and 1Day bars, in the documented format: bars
 * keyed by symbol, sorted by symbol then time, at most `pageSize` per page across symbols with a
 * `next_page_token`, 401 without the key headers, and scripted replies for the first requests.
 */
export function alpacaFakeApi(options: {
  readonly keyId: string;
  readonly secretKey: string;
  readonly pageSize: number;
  readonly script?: readonly FixtureReply[];
}): FixtureHandler {
  let count = 0;
  return ({ url, headers }) => {
    const scripted = options.script?.[count++];
    if (scripted) return scripted;
    if (
      headers['apca-api-key-id'] !== options.keyId ||
      headers['apca-api-secret-key'] !== options.secretKey
    ) {
      return { status: 401, json: { code: 40110000, message: 'request is not authorized' } };
    }
    if (url.pathname !== '/v2/stocks/bars') return { status: 404, json: { message: 'Not Found' } };
    const query = url.searchParams;
    const timeframe = query.get('timeframe');
    if (timeframe !== '1Min' && timeframe !== '1Day') {
      return { status: 422, json: { code: 42210000, message: 'invalid timeframe' } };
    }
    const from = Date.parse(query.get('start') ?? '');
    const to = Date.parse(query.get('end') ?? '');
    const limit = Math.min(Number(query.get('limit') ?? 1000), options.pageSize);
    const symbols = (query.get('symbols') ?? '').split(',').sort();
    const all = symbols.flatMap((symbol) =>
      sessionBars(symbol, timeframe === '1Day' ? 'day' : 'minute', from, to).map((bar) => ({
        symbol,
        bar,
      })),
    );
    const offset = Number(query.get('page_token') ?? 0);
    const page = all.slice(offset, offset + limit);
    const bars: Record<string, unknown[]> = {};
    for (const { symbol, bar } of page) {
      (bars[symbol] ??= []).push({
        ...bar,
        t: new Date(bar.t).toISOString().replace('.000Z', 'Z'),
      });
    }
    return {
      json: { bars, next_page_token: offset + limit < all.length ? String(offset + limit) : null },
    };
  };
}
