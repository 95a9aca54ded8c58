import { describe, expect, it } from 'vitest';
import { concurrentBackfills, POLYGON_TEST_KEY } from '../helpers/concurrent-backfills.js';
import { useFixtureServer, type FixtureHandler } from '../helpers/fixture-server.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, type StorageKind } from '../helpers/test-storage.js';
import { polygonFakeApi } from '../providers/polygon/polygon-fake-api.js';

const tempDir = useTempDir();
const serve = useFixtureServer();

/** The 429's Retry-After, in seconds. */
const RETRY_AFTER_S = 2;
/** Requests already sent when the 429 comes back may still arrive just after it. */
const IN_FLIGHT_MS = 500;

/** Each reply waits this long, so both processes still have requests to send after the 429. */
const LATENCY_MS = 40;

/**
 * Answers the first SPY request that comes after QQQ's third with a 429 and Retry-After (both
 * processes are running then); records when each QQQ request arrived.
 */
function oneRateLimit(handler: FixtureHandler): {
  handler: FixtureHandler;
  qqq: number[];
  limitedAt: () => number | undefined;
} {
  const qqq: number[] = [];
  let limitedAt: number | undefined;
  return {
    qqq,
    limitedAt: () => limitedAt,
    handler: async (request) => {
      const now = performance.now();
      const symbol = /\/ticker\/([^/]+)\//.exec(request.url.pathname)?.[1];
      if (symbol === 'QQQ') qqq.push(now);
      if (symbol === 'SPY' && limitedAt === undefined && qqq.length >= 3) {
        limitedAt = now;
        return {
          status: 429,
          headers: { 'Retry-After': String(RETRY_AFTER_S) },
          json: { status: 'ERROR', error: 'exceeded requests per minute' },
        };
      }
      return { ...(await handler(request)), delayMs: LATENCY_MS };
    },
  };
}

/**
 * Two backfills of different jobs (SPY, QQQ) on one provider without a rate, started together;
 * the QQQ requests the server saw in the pause that a 429 to SPY asked for.
 */
async function arrivalsInPause(storage: StorageKind, scope: 'store' | 'process'): Promise<number> {
  const server = oneRateLimit(polygonFakeApi({ apiKey: POLYGON_TEST_KEY, pageSize: 200 }));
  const { url } = await serve(server.handler);
  await concurrentBackfills({
    dir: tempDir(),
    storage,
    baseUrl: url,
    pacing: { cooldown_seconds: 1, scope },
    symbols: ['SPY', 'QQQ'],
    days: { start: '2023-01-02', end: '2023-01-22' },
  });
  const at = server.limitedAt();
  if (at === undefined) throw new Error('the server never answered 429');
  const pauseEnd = at + RETRY_AFTER_S * 1000;
  // QQQ still had requests to send after the pause: a quiet window is not for lack of work.
  expect(server.qqq.filter((t) => t >= pauseEnd).length).toBeGreaterThan(5);
  return server.qqq.filter((t) => t >= at + IN_FLIGHT_MS && t < pauseEnd).length;
}

describe.each(STORAGE_KINDS)('a 429 to one process, budgets in the %s store', (storage) => {
  it(
    'pauses every process on the provider until its Retry-After ends',
    { timeout: 90_000 },
    async () => {
      expect(await arrivalsInPause(storage, 'store')).toBe(0);
    },
  );
});

describe('a 429 to one process, budgets in the process (scope: process)', () => {
  it('pauses that process only: the other keeps asking', { timeout: 90_000 }, async () => {
    expect(await arrivalsInPause('sqlite', 'process')).toBeGreaterThan(0);
  });
});
