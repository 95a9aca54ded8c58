import type { FixtureHandler, ReceivedRequest } from './fixture-server.js';

/** A provider's limit: requests a minute, and how many may come at once. */
export interface ServerLimit {
  readonly requests_per_minute: number;
  readonly burst: number;
}

/** A handler behind a provider's limit, and what it served and refused (performance.now()). */
export interface RateLimitedHandler {
  readonly handler: FixtureHandler;
  readonly served: number[];
  /** The requests served, in the order of `served`. */
  readonly servedRequests: ReceivedRequest[];
  readonly refused: number[];
}

/**
 * A provider's own limit, as a server keeps it: a token bucket on the server's clock refilled
 * from the arrival of requests; a request finding it empty is answered 429 without Retry-After.
 * Written apart from mdp's buckets on purpose: it is the provider, not the code under test.
 */
export function rateLimited(handler: FixtureHandler, limit: ServerLimit): RateLimitedHandler {
  const perMs = limit.requests_per_minute / 60_000;
  let tokens: number = limit.burst;
  let at = performance.now();
  const served: number[] = [];
  const servedRequests: ReceivedRequest[] = [];
  const refused: number[] = [];
  return {
    served,
    servedRequests,
    refused,
    handler: (request) => {
      const now = performance.now();
      tokens = Math.min(limit.burst, tokens + (now - at) * perMs);
      at = now;
      if (tokens < 1) {
        refused.push(now);
        return { status: 429, json: { status: 'ERROR', error: 'exceeded requests per minute' } };
      }
      tokens -= 1;
      served.push(now);
      servedRequests.push(request);
      return handler(request);
    },
  };
}
