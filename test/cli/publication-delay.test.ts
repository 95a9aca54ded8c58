import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { useFixtureServer } from '../helpers/fixture-server.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import {
  STORAGE_KINDS,
  storagePrimary,
  useTestStorage,
  type StorageKind,
} from '../helpers/test-storage.js';
import { polygonDelayedFakeApi } from '../providers/polygon/polygon-delayed-fake-api.js';

const MINUTE = 60_000;
const DELAY = 15 * MINUTE;
const SYMBOLS = ['BTCUSD', 'ETHUSD'];
const tempDir = useTempDir();

/** A polygon provider at `baseUrl`, a backfill job over `[from, to)` and a live job, both 1m. */
function writeConfig(
  dir: string,
  kind: StorageKind,
  baseUrl: string,
  window: { from: number; to: number },
  provider: Record<string, unknown> = {},
): string {
  const execution = {
    concurrency: 1,
    retry: { max_attempts: 2, backoff_seconds: 0.01, max_backoff_seconds: 0.05 },
  };
  const config = {
    version: 2,
    providers: {
      source: {
        type: 'polygon',
        api_key: 'pk_delay_test',
        base_url: baseUrl,
        pacing: { requests_per_minute: 6000, burst: 20, cooldown_seconds: 0 },
        ...provider,
      },
    },
    storage: { primary: { ...storagePrimary(kind, dir), write: { batch_size: 500 } } },
    datasets: { crypto: { provider: 'source', symbols: SYMBOLS, interval: '1m' } },
    jobs: {
      recent: {
        dataset: 'crypto',
        mode: 'backfill',
        backfill: {
          start: new Date(window.from).toISOString(),
          end: new Date(window.to).toISOString(),
        },
        execution,
      },
      follow: { dataset: 'crypto', mode: 'live', live: { lookback: '1h' }, execution },
    },
    telemetry: { log_level: 'warn', metrics: { enabled: false } },
  };
  const file = join(dir, 'mdp.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

/** Open times of one symbol's stored bars. */
function storedTimes(digest: string, symbol: string): number[] {
  return (JSON.parse(digest) as unknown[][])
    .filter((row) => row[1] === symbol)
    .map((row) => Number(row[3]));
}

interface StatusChunk {
  readonly symbol: string;
  readonly window_start: string;
  readonly window_end: string;
  readonly rows: number;
}

async function statusOf(config: string) {
  const status = await runCli(['status', '--config', config, '--job', 'recent', '--json']);
  expect(status.code, status.stderr).toBe(0);
  const view = JSON.parse(status.stdout) as {
    jobs: { provisional_chunks?: StatusChunk[]; incomplete_chunks: StatusChunk[] }[];
  };
  return view.jobs[0];
}

describe.each(STORAGE_KINDS)('a provider that publishes late, into %s', (kind) => {
  const storage = useTestStorage(kind);
  const serve = useFixtureServer();

  it('backfill records the unpublished tail provisional and a rerun fills it', async () => {
    let published = DELAY;
    const server = await serve(polygonDelayedFakeApi({ delayMs: () => published }));
    const dir = tempDir();
    const to = Math.floor(Date.now() / MINUTE) * MINUTE;
    const from = to - 60 * MINUTE;
    // polygon's default publication_delay is 15m: the config does not say it.
    const config = writeConfig(dir, kind, server.url, { from, to });
    const backfill = ['backfill', '--config', config, '--job', 'recent'];

    const first = await runCli(backfill);
    expect(first.code, first.stderr).toBe(0);
    const before = await storage.barSnapshot(dir);
    for (const symbol of SYMBOLS) {
      const times = storedTimes(before.digest, symbol);
      expect(times.length).toBeGreaterThanOrEqual(44);
      expect(times.length).toBeLessThan(60);
    }
    expect(first.stdout).toMatch(/2 chunks are provisional/);

    const status = await statusOf(config);
    expect(status?.incomplete_chunks).toEqual([]);
    expect(status?.provisional_chunks?.map((chunk) => chunk.symbol).sort()).toEqual(SYMBOLS);
    for (const chunk of status?.provisional_chunks ?? []) {
      expect(Date.parse(chunk.window_end)).toBe(to);
      expect(Date.parse(chunk.window_start)).toBeGreaterThanOrEqual(to - DELAY);
    }
    const table = await runCli(['status', '--config', config, '--job', 'recent']);
    expect(table.stdout).toMatch(/PROVISIONAL/);
    expect(table.stdout).toMatch(/provisional chunks of recent, within .*publication_delay \(2;/);

    // The provider publishes the tail; a plain rerun (no --force) asks for the tail only.
    published = 0;
    const asked = server.requests.length;
    const rerun = await runCli(backfill);
    expect(rerun.code, rerun.stderr).toBe(0);
    const rerunRequests = server.requests.slice(asked);
    // One request a symbol, or two when the edge moved on a minute since the first run.
    expect(rerunRequests.length).toBeGreaterThanOrEqual(SYMBOLS.length);
    expect(rerunRequests.length).toBeLessThanOrEqual(2 * SYMBOLS.length);
    for (const request of rerunRequests) {
      const askedFrom = Number(request.url.pathname.split('/')[8]);
      expect(askedFrom).toBeGreaterThanOrEqual(to - DELAY);
    }
    const after = await storage.barSnapshot(dir);
    const every = Array.from({ length: 60 }, (_, i) => from + i * MINUTE);
    for (const symbol of SYMBOLS) expect(storedTimes(after.digest, symbol)).toEqual(every);
    expect(await storage.countRows(dir, 'bars_ohlcv')).toBe(120);
    // The tail is still within the delay: it stays provisional until a run after it settles.
    const still = (await statusOf(config))?.provisional_chunks ?? [];
    expect(still.map((chunk) => [chunk.symbol, Date.parse(chunk.window_end)]).sort()).toEqual(
      SYMBOLS.map((symbol) => [symbol, to]),
    );

    // An operator on a real-time plan: with no delay the tail is final and no longer listed.
    writeConfig(dir, kind, server.url, { from, to }, { publication_delay: '0s' });
    const final = await runCli(backfill);
    expect(final.code, final.stderr).toBe(0);
    expect((await statusOf(config))?.provisional_chunks).toEqual([]);
    const settled = await runCli(backfill);
    expect(settled.stdout).toContain('success: 0 rows written');
    expect(await storage.countRows(dir, 'bars_ohlcv')).toBe(120);
  });

  it('a live run never asks for bars newer than now - publication_delay', async () => {
    // Bars of odd minutes come at once, even ones 15 minutes late: out of order, within the delay.
    const server = await serve(
      polygonDelayedFakeApi({ delayMs: (t) => ((t / MINUTE) % 2 === 0 ? DELAY : 0) }),
    );
    const dir = tempDir();
    const now = Date.now();
    const config = writeConfig(dir, kind, server.url, { from: now - DELAY, to: now });
    const live = await runCli(['run', '--config', config, '--job', 'follow']);
    expect(live.code, live.stderr).toBe(0);
    for (const request of server.requests) {
      const askedTo = Number(request.url.pathname.split('/')[9]);
      expect(askedTo).toBeLessThan(Date.now() - DELAY);
    }
    const bars = await storage.barSnapshot(dir);
    for (const symbol of SYMBOLS) {
      const times = storedTimes(bars.digest, symbol);
      expect(times.length).toBeGreaterThan(40);
      // No hole: the next cycle starts after the last stored bar and misses nothing.
      const first = times[0] as number;
      expect(times).toEqual(times.map((_, i) => first + i * MINUTE));
      expect((times.at(-1) as number) + MINUTE).toBeLessThanOrEqual(Date.now() - DELAY);
    }
  });
});
