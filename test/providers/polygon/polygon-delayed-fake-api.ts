import type { FixtureHandler } from '../../helpers/fixture-server.js';

const PATH = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/1\/minute\/(\d+)\/(\d+)$/;
const MINUTE = 60_000;

/** How the fake publishes: a bar appears `delayMs(t)` after it closes, by the real clock. */
export interface PublicationSchedule {
  /** Delay of the bar opening at `t`; read at every request, so a test can change it. */
  delayMs(t: number): number;
}

/** Values of the bar of `ticker` opening at `t`: a pure function, so reruns compare exactly. */
export function delayedFakeBar(ticker: string, t: number) {
  const k = (Math.floor(t / MINUTE) + ticker.length * 31) % 997;
  const o = 100 + k / 10;
  const c = o + ((k % 7) - 3) / 10;
  return { t, o, h: Math.max(o, c) + 0.25, l: Math.min(o, c) - 0.25, c, v: 1000 + k };
}

/**
 * A fake of Polygon's minute aggregates for a 24/7 series (a crypto pair, say), in epoch-ms
 * bounds as mdp asks for minutes. It withholds every bar not yet published by the real clock and
 * answers `status: DELAYED`, as Polygon's delayed plans do: the tail of a recent window is missing
 * without anything in the answer saying so.
 */
export function polygonDelayedFakeApi(schedule: PublicationSchedule): FixtureHandler {
  let count = 0;
  return ({ url }) => {
    count += 1;
    const match = PATH.exec(url.pathname);
    if (!match) return { status: 404, json: { status: 'NOT_FOUND', message: 'Not Found' } };
    const [, ticker, from, to] = match as unknown as [string, string, string, string];
    const now = Date.now();
    const results = [];
    for (let t = Math.ceil(Number(from) / MINUTE) * MINUTE; t <= Number(to); t += MINUTE) {
      if (t + MINUTE + schedule.delayMs(t) <= now) results.push(delayedFakeBar(ticker, t));
    }
    return {
      json: {
        ticker,
        queryCount: results.length,
        resultsCount: results.length,
        adjusted: true,
        ...(results.length > 0 ? { results } : {}),
        status: 'DELAYED',
        request_id: `req-${count}`,
      },
    };
  };
}
