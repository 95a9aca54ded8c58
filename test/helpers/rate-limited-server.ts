import type { FixtureHandler } from './fixture-server.js';

/** A provider's own limit: requests a minute, and how many it lets through at once. */
export interface ServerLimit {
  readonly requests_per_minute: number;
  readonly burst: number;
}

/** What a rate-limited server saw: its handler, and the times it served and refused requests. */
export interface RateLimitedServer {
  readonly handler: FixtureHandler;
  readonly served: number[];
  readonly refused: number[];
}

/**
 * A provider's own limit, as a server keeps it: a token bucket on the server's clock refilled
 * from the arrival of requests; a request finding it empty is answered 429 without Retry-After.
 * Written apart from mdp's buckets on purpose: it is the provider, not the code under test.
 */
export function rateLimited(limit: ServerLimit, handler: FixtureHandler): RateLimitedServer {
  const perMs = limit.requests_per_minute / 60_000;
  let tokens: number = limit.burst;
  let at = performance.now();
  const served: number[] = [];
  const refused: number[] = [];
  return {
    served,
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
      return handler(request);
    },
  };
}
