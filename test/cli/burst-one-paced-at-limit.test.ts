import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { POLYGON_TEST_KEY } from '../helpers/concurrent-backfills.js';
import { useFixtureServer } from '../helpers/fixture-server.js';
import { rateLimitedApi } from '../helpers/rate-limited-api.js';
import { writeProviderTestConfig } from '../helpers/provider-test-config.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS } from '../helpers/test-storage.js';
import { polygonFakeApi } from '../providers/polygon/polygon-fake-api.js';

const tempDir = useTempDir();
const serve = useFixtureServer();

/** Backfills of different jobs (one per symbol) on one provider, started `staggerMs` apart. */
async function staggered(
  storage: 'sqlite' | 'postgres',
  limit: { requests_per_minute: number; burst: number },
  staggerMs: number,
  options: { symbols?: readonly string[]; end?: string; scope?: 'store' | 'process' } = {},
): Promise<{ served: number[]; refused: number[] }> {
  const server = rateLimitedApi(limit, polygonFakeApi({ apiKey: POLYGON_TEST_KEY, pageSize: 200 }));
  const { url } = await serve(server.handler);
  const symbols = options.symbols ?? ['SPY', 'QQQ', 'IWM'];
  const jobs = Object.fromEntries(
    symbols.map((symbol) => [
      symbol.toLowerCase(),
      { symbols: [symbol], interval: '1m', start: '2023-01-02', end: options.end ?? '2023-01-06' },
    ]),
  );
  const config = writeProviderTestConfig(
    tempDir(),
    storage,
    {
      type: 'polygon',
      api_key: '${POLYGON_API_KEY}',
      base_url: url,
      limit: 200,
      pacing: {
        ...limit,
        cooldown_seconds: 1,
        max_retry_after: '5s',
        scope: options.scope ?? 'store',
      },
    },
    jobs,
  );
  // The server runs on this process's event loop: a stall of it delays when an arrival is seen.
  const serverLoop = monitorEventLoopDelay({ resolution: 5 });
  serverLoop.enable();
  const results = await Promise.all(
    Object.keys(jobs).map(async (name, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * staggerMs));
      return runCli(['backfill', '--config', config, '--job', name], {
        env: { POLYGON_API_KEY: POLYGON_TEST_KEY },
        timeoutMs: 90_000,
      });
    }),
  );
  for (const result of results) expect(result.code, result.stderr).toBe(0);
  serverLoop.disable();
  console.log(
    `${arrivalReport(server.served, server.refused, limit.requests_per_minute)}; ` +
      `server loop delay p99 ${(serverLoop.percentile(99) / 1e6).toFixed(1)} ms, ` +
      `max ${(serverLoop.max / 1e6).toFixed(1)} ms`,
  );
  return server;
}

/**
 * What the server saw, for the log: how much sooner than the interval the closest two arrivals
 * came (what a bucket of one refuses), and the share of the budget used between first and last.
 */
function arrivalReport(served: number[], refused: number[], perMinute: number): string {
  const intervalMs = 60_000 / perMinute;
  const arrivals = [...served, ...refused].sort((a, b) => a - b);
  const gaps = arrivals.slice(1).map((at, i) => at - (arrivals[i] as number));
  const short = gaps.filter((gap) => gap < intervalMs);
  const busyMs = (served.at(-1) ?? 0) - (served[0] ?? 0);
  const used = busyMs > 0 ? ((served.length - 1) * intervalMs) / busyMs : 1;
  return (
    `${served.length} served, ${refused.length} refused; arrival gaps under ${intervalMs} ms: ` +
    `${short.length} of ${gaps.length}` +
    (short.length ? ` (shortest ${Math.min(...short).toFixed(1)} ms)` : '') +
    `; budget used ${(100 * used).toFixed(1)}%`
  );
}

/** The default burst: a provider's `pacing:` without `burst:` has 1. */
const LIMIT = { requests_per_minute: 300, burst: 1 };

describe("burst 1 (the default) paced at the server's own limit", () => {
  it('one process paced alone (scope: process) draws no 429', { timeout: 120_000 }, async () => {
    const { served, refused } = await staggered('sqlite', LIMIT, 0, {
      symbols: ['SPY'],
      scope: 'process',
    });
    expect(refused.length, `${refused.length} refused, ${served.length} served`).toBe(0);
  });

  it.each(STORAGE_KINDS)(
    'three processes started 1.5 s apart sharing the budget in the %s store draw no 429',
    { timeout: 120_000 },
    async (storage) => {
      // A process whose 429s outlast twice max_retry_after (5 s here) fails as well.
      const { served, refused } = await staggered(storage, LIMIT, 1_500);
      expect(refused.length, `${refused.length} refused, ${served.length} served`).toBe(0);
    },
  );
});
