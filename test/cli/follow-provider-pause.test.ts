/**
 * A provider down for maintenance answers 503 with a Retry-After longer than its
 * `pacing.max_retry_after`. A one-shot `mdp run` fails at once with MDP_PROVIDER_UNAVAILABLE, but
 * an unattended `mdp run --follow` must not exit: it logs the error once, pauses the provider
 * until the asked time (abortable by SIGINT, whatever the length: no timer overflow), then goes on
 * following and stores the bars the provider serves again.
 *
 * The store is incidental here (the provider side is under test): SQLite only.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { useFixtureServer, type FixtureHandler } from '../helpers/fixture-server.js';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { storagePrimary, useTestStorage } from '../helpers/test-storage.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const KEY = 'pk_follow_pause_12345';
const env = { POLYGON_API_KEY: KEY };
const PATH = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/1\/minute\/(\d+)\/(\d+)$/;
const MINUTE = 60_000;
const MAINTENANCE = { status: 'ERROR', request_id: 'r503', error: 'down for maintenance' };

/** Polygon 1-minute aggregates for every closed minute of the asked window, up to now. */
const minuteBars: FixtureHandler = ({ url }) => {
  const match = PATH.exec(url.pathname);
  if (!match) return { status: 404, json: { status: 'NOT_FOUND', message: 'Not Found' } };
  const [, ticker, from, to] = match as unknown as [string, string, string, string];
  const results = [];
  const last = Math.min(Number(to), Date.now() - MINUTE);
  for (let t = Math.ceil(Number(from) / MINUTE) * MINUTE; t <= last; t += MINUTE) {
    const price = 100 + ((t / MINUTE) % 7);
    results.push({ t, o: price, h: price + 1, l: price - 1, c: price, v: 10, vw: price, n: 2 });
  }
  return {
    json: {
      ticker: decodeURIComponent(ticker),
      queryCount: results.length,
      resultsCount: results.length,
      adjusted: true,
      ...(results.length > 0 ? { results } : {}),
      status: 'OK',
      request_id: 'req-bars',
    },
  };
};

/** A live job of SPY 1m over the last 10 minutes, from a polygon at `baseUrl`. */
function writeConfig(dir: string, baseUrl: string): string {
  const config = {
    version: 2,
    providers: {
      source: {
        type: 'polygon',
        api_key: '${POLYGON_API_KEY}',
        base_url: baseUrl,
        publication_delay: '0s',
        pacing: { cooldown_seconds: 1, max_retry_after: '1s' },
      },
    },
    storage: { primary: storagePrimary('sqlite', dir) },
    datasets: { spy: { provider: 'source', symbols: ['SPY'], interval: '1m' } },
    jobs: {
      live_job: {
        dataset: 'spy',
        mode: 'live',
        live: { lookback: '10m' },
        execution: { concurrency: 1, retry: { max_attempts: 2, backoff_seconds: 0.01 } },
      },
    },
    telemetry: { log_level: 'warn', metrics: { enabled: false } },
  };
  const file = join(dir, 'mdp.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

/** Starts `run --follow`, its stderr readable as it comes. */
function follow(config: string) {
  const child = spawnCli(['run', '--config', config, '--job', 'live_job', '--follow'], { env });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer | string) => (stderr += chunk.toString()));
  const exited = collect(child, 60_000);
  return { child, exited, stderr: () => stderr };
}

const PAUSE_LOG = 'following pauses it until';

describe('a provider answering 503 with a Retry-After past max_retry_after', () => {
  const storage = useTestStorage('sqlite');
  const serve = useFixtureServer();
  const tempDir = useTempDir();

  it('fails a one-shot mdp run at once, as unavailable, not rate limited', async () => {
    const server = await serve(() => ({
      status: 503,
      headers: { 'Retry-After': '1200' },
      json: MAINTENANCE,
    }));
    const dir = tempDir();
    const started = performance.now();
    const result = await runCli(
      ['run', '--config', writeConfig(dir, server.url), '--job', 'live_job'],
      {
        env,
        timeoutMs: 20_000,
      },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(server.requests).toHaveLength(1);
    expect(result.stderr).toContain(
      'error [MDP_PROVIDER_UNAVAILABLE]: provider source is unavailable (503) and asked to wait ' +
        '20m before the next request (Retry-After), longer than ' +
        'providers.source.pacing.max_retry_after (1s)',
    );
    expect(result.stderr).not.toContain('MDP_PROVIDER_RATE_LIMITED');
  });

  it(
    'run --follow pauses the provider until the asked time, then stores the bars it serves again',
    { timeout: 60_000 },
    async () => {
      const arrivals: number[] = [];
      // Down for the first request, asking for 3 s (over the 1s bound); then back.
      const server = await serve((request) => {
        arrivals.push(performance.now());
        if (arrivals.length === 1)
          return { status: 503, headers: { 'Retry-After': '3' }, json: MAINTENANCE };
        return minuteBars(request);
      });
      const dir = tempDir();
      const running = follow(writeConfig(dir, server.url));
      try {
        const stored = await waitFor(
          'the bars after the pause stored',
          async () => {
            const count = (await storage.barSnapshot(dir).catch(() => undefined))?.count ?? 0;
            return count >= 9 ? count : undefined;
          },
          30_000,
        );
        expect(stored).toBeGreaterThanOrEqual(9);
        // Not asked again before the 3 s it asked for, and once when it came back.
        expect(arrivals.length).toBeGreaterThanOrEqual(2);
        expect((arrivals[1] as number) - (arrivals[0] as number)).toBeGreaterThanOrEqual(2_900);
        // Logged once, naming the wait and when it ends; the follower did not exit.
        const log = running.stderr();
        expect(log.split(PAUSE_LOG)).toHaveLength(2);
        expect(log).toContain('provider source asked to wait 3s; following pauses it until 20');
        expect(log).toContain('MDP_PROVIDER_UNAVAILABLE');
        expect(running.child.exitCode).toBeNull();
      } finally {
        running.child.kill('SIGINT');
      }
      const result = await running.exited;
      expect(result.code, result.stderr).toBe(130);
      expect(await storage.jobRuns(dir)).toHaveLength(1);
    },
  );

  it(
    'SIGINT during a pause of 115 days ends the follower at once, exit 130, no timer overflow',
    { timeout: 30_000 },
    async () => {
      const server = await serve(() => ({
        status: 503,
        headers: { 'Retry-After': '9999999' },
        json: MAINTENANCE,
      }));
      const dir = tempDir();
      const running = follow(writeConfig(dir, server.url));
      await waitFor(
        'the pause logged',
        async () => (running.stderr().includes(PAUSE_LOG) ? true : undefined),
        15_000,
      );
      // The pause holds: nothing asked again, still running.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(server.requests).toHaveLength(1);
      expect(running.child.exitCode).toBeNull();
      const interrupted = performance.now();
      running.child.kill('SIGINT');
      const result = await running.exited;
      expect(performance.now() - interrupted).toBeLessThan(5_000);
      expect(result.code, result.stderr).toBe(130);
      expect(result.stderr).toContain('asked to wait 115d 17h 46m 39s');
      expect(result.stderr).not.toContain('TimeoutOverflowWarning');
      expect(server.requests).toHaveLength(1);
    },
  );
});
