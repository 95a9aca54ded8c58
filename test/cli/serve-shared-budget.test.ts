/**
 * A followed live job in `mdp serve` and an `mdp backfill` beside it, on one polygon provider
 * whose (local) server enforces a real limit equal to both processes' pacing: they draw from one
 * budget in the store, so the server refuses nothing, and both make progress. Both stores, as
 * child processes.
 */
import { describe, expect, it } from 'vitest';
import { POLYGON_TEST_KEY } from '../helpers/concurrent-backfills.js';
import { useFixtureServer } from '../helpers/fixture-server.js';
import { writePolygonServeConfig } from '../helpers/polygon-serve-config.js';
import { rateLimited } from '../helpers/rate-limited-server.js';
import { collect, spawnCli } from '../helpers/run-cli.js';
import { serve } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';
import { polygonFakeApi } from '../providers/polygon/polygon-fake-api.js';

const tempDir = useTempDir();
const fixtureServer = useFixtureServer();

/**
 * The provider's limit and both processes' `pacing:`. Burst 4 as in shared-budget.test.ts: burst
 * 1 at exactly the limit is the network-jitter case README's pacing section names, not this one.
 */
const LIMIT = { requests_per_minute: 120, burst: 4 };
const LIVE_SYMBOLS = ['SPY', 'QQQ', 'IWM'];
const HISTORY_SYMBOL = 'TLT';

describe.each(STORAGE_KINDS)(
  'mdp serve following a live job and mdp backfill beside it, on %s',
  { timeout: 180_000 },
  (kind) => {
    const storage = useTestStorage(kind);

    it('share one budget on one provider: no 429 from a server whose limit is that budget, both make progress', async () => {
      const dir = tempDir();
      const server = rateLimited(
        polygonFakeApi({ apiKey: POLYGON_TEST_KEY, pageSize: 200 }),
        LIMIT,
      );
      const { url } = await fixtureServer(server.handler);
      const file = writePolygonServeConfig(dir, 'mdp', {
        storage: kind,
        baseUrl: url,
        pacing: { ...LIMIT, cooldown_seconds: 1 },
        jobs: {
          // Four days back, so a weekday session is in it whenever the test runs: about eight
          // pages a symbol at the first cycle, then a request a symbol at each minute's close.
          live_job: {
            symbols: LIVE_SYMBOLS,
            job: { mode: 'live', follow: true, live: { lookback: '4d', max_catchup: '4d' } },
          },
          // Three days of minutes in 200-minute chunks: 22 requests.
          history: {
            symbols: [HISTORY_SYMBOL],
            job: { mode: 'backfill', backfill: { start: '2023-01-03', end: '2023-01-06' } },
          },
        },
      });
      const tickerOf = (index: number): string =>
        decodeURIComponent(server.servedRequests[index]!.url.pathname.split('/')[4]!);
      const historyServed = (): number[] =>
        server.served.filter((_, i) => tickerOf(i) === HISTORY_SYMBOL);

      // The backfill first; the service joins while most of its requests are still to come.
      const backfill = spawnCli(['backfill', '--config', file, '--job', 'history']);
      const backfillDone = collect(backfill, 150_000);
      await waitFor('the backfill under way', () =>
        historyServed().length >= 2 ? true : undefined,
      );
      const service = serve(file, [], 150_000);
      try {
        const backfillResult = await backfillDone;
        expect(backfillResult.code, backfillResult.stderr).toBe(0);
        const live = await waitFor('the followed run writing bars', async () => {
          const runs = await storage.jobRuns(dir);
          const run = runs.find((r) => r.job_name === 'live_job');
          return run?.status === 'running' && run.rows_written > 0 ? run : undefined;
        });
        service.child.kill('SIGTERM');
        const result = await service.exited;
        expect(result.code, result.stderr).toBe(143);

        // Not one request refused, though both processes asked at once.
        expect(server.refused).toEqual([]);
        const history = historyServed();
        expect(history.length).toBeGreaterThanOrEqual(Math.ceil((3 * 1440) / 200));
        const liveDuringBackfill = server.served.filter(
          (at, i) => LIVE_SYMBOLS.includes(tickerOf(i)) && at > history[0]! && at < history.at(-1)!,
        );
        console.log(
          `${kind}: ${server.served.length} served, ${liveDuringBackfill.length} live requests among the backfill's ${history.length}, 0 refused`,
        );
        expect(liveDuringBackfill.length).toBeGreaterThanOrEqual(LIVE_SYMBOLS.length);
        // Both made progress: the backfill stored its window, the followed job today's bars.
        const runs = await storage.jobRuns(dir);
        const backfillRun = runs.find((run) => run.job_name === 'history');
        expect(backfillRun).toMatchObject({ status: 'success' });
        expect(backfillRun!.rows_written).toBeGreaterThan(0);
        expect(live.rows_written).toBeGreaterThan(0);
        const snapshot = await storage.barSnapshot(dir);
        expect(snapshot.perSymbol[HISTORY_SYMBOL]).toBe(backfillRun!.rows_written);
        expect(LIVE_SYMBOLS.some((symbol) => (snapshot.perSymbol[symbol] ?? 0) > 0)).toBe(true);
      } finally {
        backfill.kill('SIGKILL');
        service.child.kill('SIGKILL');
        await Promise.allSettled([backfillDone, service.exited]);
      }
    });
  },
);
