import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';
import { useFixtureServer, type FixtureHandler } from '../../helpers/fixture-server.js';
import { sessionBars } from '../../helpers/market-session-bars.js';
import { writeProviderTestConfig } from '../../helpers/provider-test-config.js';
import { useTempDir } from '../../helpers/temp-dir.js';
import { useTestStorage } from '../../helpers/test-storage.js';
import { polygonFakeApi } from './polygon-fake-api.js';

const KEY = 'pk_rate_T3stKey_4rL';
const env = { POLYGON_API_KEY: KEY };
const tempDir = useTempDir();

/** SPY daily bars over January 2023: one request, one symbol, so the server sees each try. */
const DAILY_JOB = { symbols: ['SPY'], interval: '1d', start: '2023-01-01', end: '2023-02-01' };
const EXPECTED_BARS = sessionBars(
  'SPY',
  'day',
  Date.parse('2023-01-01T00:00:00Z'),
  Date.parse('2023-02-01T00:00:00Z') - 1,
).length;

const TOO_MANY = {
  status: 'ERROR',
  request_id: 'r429',
  error: "You've exceeded the maximum requests per minute",
};

/** Wraps a handler to record when each request arrived, on this process's monotonic clock. */
function timed(handler: FixtureHandler): { handler: FixtureHandler; arrivals: number[] } {
  const arrivals: number[] = [];
  return {
    arrivals,
    handler: (request) => {
      arrivals.push(performance.now());
      return handler(request);
    },
  };
}

// The store is incidental here (the provider side is under test): SQLite only.
describe('mdp backfill against a polygon that rate-limits', () => {
  const storage = useTestStorage('sqlite');
  const serve = useFixtureServer();

  it.each([
    ['without a pacing block', undefined],
    ['with a pacing block', { requests_per_minute: 600, burst: 5, cooldown_seconds: 1 }],
  ])(
    'a Retry-After of days fails the run at once, naming the wait (%s)',
    { timeout: 30_000 },
    async (_label, pacing) => {
      const server = await serve(() => ({
        status: 429,
        headers: { 'Retry-After': '9999999' },
        json: TOO_MANY,
      }));
      const dir = tempDir();
      const config = writeProviderTestConfig(
        dir,
        'sqlite',
        {
          type: 'polygon',
          api_key: '${POLYGON_API_KEY}',
          base_url: server.url,
          ...(pacing ? { pacing } : {}),
        },
        { daily: DAILY_JOB },
      );
      const started = performance.now();
      const result = await runCli(['backfill', '--config', config, '--job', 'daily'], {
        env,
        timeoutMs: 20_000,
      });
      const elapsedMs = performance.now() - started;
      expect(result.code, result.stderr).toBe(1);
      expect(elapsedMs).toBeLessThan(10_000);
      // One request: the server asked for 115 days, so nothing is retried.
      expect(server.requests).toHaveLength(1);
      expect(result.stderr).not.toContain('TimeoutOverflowWarning');
      expect(result.stderr).toContain('MDP_PROVIDER_RATE_LIMITED');
      expect(result.stderr).toContain('115d 17h 46m 39s');
      expect(result.stderr).toContain('providers.source.pacing.max_retry_after');
      // The request failed without pausing the provider: no warning may say it did.
      expect(result.stderr).not.toContain('pausing it');
      expect(await storage.jobRuns(dir)).toMatchObject([{ status: 'failure' }]);
    },
  );

  it(
    '429s without Retry-After on an unpaced provider are spaced out, growing, then it succeeds',
    {
      timeout: 60_000,
    },
    async () => {
      const rejections = 3;
      const { handler, arrivals } = timed(
        polygonFakeApi({
          apiKey: KEY,
          pageSize: 1000,
          script: Array.from({ length: rejections }, () => ({ status: 429, json: TOO_MANY })),
        }),
      );
      const server = await serve(handler);
      const dir = tempDir();
      const config = writeProviderTestConfig(
        dir,
        'sqlite',
        { type: 'polygon', api_key: '${POLYGON_API_KEY}', base_url: server.url },
        { daily: DAILY_JOB },
      );
      const result = await runCli(['backfill', '--config', config, '--job', 'daily'], {
        env,
        timeoutMs: 40_000,
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`success: ${EXPECTED_BARS} rows written, 0 rejected`);
      expect(server.requests).toHaveLength(rejections + 1);
      // Each warning names the pause it announces.
      for (const pause of ['1s', '2s', '4s'])
        expect(result.stderr).toContain(
          `provider answered 429 (rate limited); pausing it for ${pause}`,
        );
      const gaps = arrivals.slice(1).map((at, i) => at - (arrivals[i] as number));
      // The default cooldown (1 s) doubles after each consecutive 429: about 1 s, 2 s, 4 s.
      expect(gaps[0]).toBeGreaterThanOrEqual(950);
      for (let i = 1; i < gaps.length; i++) {
        expect(gaps[i], `gap ${i} of ${gaps.join(', ')}`).toBeGreaterThan(
          1.5 * (gaps[i - 1] as number),
        );
      }
      const bars = await storage.barSnapshot(dir);
      expect(bars.perSymbol).toEqual({ SPY: EXPECTED_BARS });
    },
  );
});
