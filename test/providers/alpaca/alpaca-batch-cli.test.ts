import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { collect, runCli, spawnCli } from '../../helpers/run-cli.js';
import { useFixtureServer, type FixtureHandler } from '../../helpers/fixture-server.js';
import { writeProviderTestConfig } from '../../helpers/provider-test-config.js';
import { useTempDir } from '../../helpers/temp-dir.js';
import {
  openTestStore,
  STORAGE_KINDS,
  storagePrimary,
  type StorageKind,
  useTestStorage,
} from '../../helpers/test-storage.js';
import { alpacaFakeApi } from './alpaca-fake-api.js';

const KEY_ID = 'PKBATCH7Q2W9E4R1';
const SECRET = 'sk_batch_Zx3Cv6Bn9Mq2';
const ENV = { ALPACA_KEY_ID: KEY_ID, ALPACA_SECRET_KEY: SECRET };
const SYMBOLS = ['SPY', 'AAPL', 'MSFT'];
const tempDir = useTempDir();

function alpacaEntry(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'alpaca',
    key_id: '${ALPACA_KEY_ID}',
    secret_key: '${ALPACA_SECRET_KEY}',
    base_url: url,
    pacing: { requests_per_minute: 6000, burst: 20, cooldown_seconds: 0 },
    ...extra,
  };
}

/** A live job of daily bars for SYMBOLS over the last 30 days, from the alpaca fake at `url`. */
function writeLiveConfig(
  kind: StorageKind,
  dir: string,
  url: string,
  extra: Record<string, unknown>,
): string {
  const config = join(dir, 'mdp.yaml');
  writeFileSync(
    config,
    stringify({
      version: 2,
      providers: { source: alpacaEntry(url, extra) },
      storage: { primary: storagePrimary(kind, dir) },
      datasets: { daily: { provider: 'source', symbols: SYMBOLS, interval: '1d' } },
      jobs: {
        daily_live: {
          dataset: 'daily',
          mode: 'live',
          live: { lookback: '30d', max_catchup: '30d' },
        },
      },
      telemetry: { log_level: 'warn', metrics: { enabled: false } },
    }),
  );
  return config;
}

describe.each(STORAGE_KINDS)('alpaca multi-symbol requests into %s', (kind) => {
  const storage = useTestStorage(kind);
  const serve = useFixtureServer();

  it('a backfill asks for the symbols of a chunk together and stores what one at a time would', async () => {
    const server = await serve(alpacaFakeApi({ keyId: KEY_ID, secretKey: SECRET, pageSize: 1000 }));
    // 2024-01-02 to 01-06 lies in one 10,000-minute chunk: 390 session minutes × 4 days a symbol.
    const job = { symbols: SYMBOLS, interval: '1m', start: '2024-01-02', end: '2024-01-06' };
    const batched = tempDir();
    const config = writeProviderTestConfig(batched, kind, alpacaEntry(server.url), {
      minutes: job,
    });

    const plan = await runCli(['backfill', '--config', config, '--job', 'minutes', '--dry-run'], {
      env: ENV,
    });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('chunks: 3 (0 already done, 3 to fetch)');
    expect(plan.stdout).toContain('requests: 1 to 2 (symbols sharing a window go together');
    expect(server.requests).toHaveLength(0);

    const run = await runCli(['backfill', '--config', config, '--job', 'minutes'], { env: ENV });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^run 2 minutes success: 4,680 rows written, 0 rejected/m);
    // 4,680 bars in pages of 1,000 across the symbols: 5 requests, each naming all three.
    expect(server.requests).toHaveLength(5);
    for (const request of server.requests) {
      expect(request.url.searchParams.get('symbols')).toBe('SPY,AAPL,MSFT');
    }
    const store = await openTestStore(kind, batched);
    try {
      const checkpoints = await store.checkpoints('minutes');
      expect(checkpoints.map((cp) => [cp.symbol, cp.rows, cp.complete]).sort()).toEqual([
        ['AAPL', 1560, true],
        ['MSFT', 1560, true],
        ['SPY', 1560, true],
      ]);
    } finally {
      await store.close();
    }

    // The same job symbol by symbol: 2 pages each, and exactly the same rows.
    const before = server.requests.length;
    const single = tempDir();
    const singleConfig = writeProviderTestConfig(
      single,
      kind,
      alpacaEntry(server.url, { symbols_per_request: 1 }),
      { minutes: job },
    );
    const alone = await runCli(['backfill', '--config', singleConfig, '--job', 'minutes'], {
      env: ENV,
    });
    expect(alone.code, alone.stderr).toBe(0);
    const singleRequests = server.requests.slice(before);
    expect(singleRequests).toHaveLength(3 * 2);
    expect(new Set(singleRequests.map((r) => r.url.searchParams.get('symbols')))).toEqual(
      new Set(SYMBOLS),
    );
    const [a, b] = [await storage.barSnapshot(batched), await storage.barSnapshot(single)];
    expect(a.perSymbol).toEqual({ AAPL: 1560, MSFT: 1560, SPY: 1560 });
    expect(a.digest).toBe(b.digest);

    // A rerun finds every chunk checkpointed and asks for nothing.
    const requestsSoFar = server.requests.length;
    const rerun = await runCli(['backfill', '--config', config, '--job', 'minutes'], { env: ENV });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(server.requests).toHaveLength(requestsSoFar);
  });

  it('a batch that fails stores none of its bars; the rerun fetches only the batches not checkpointed', async () => {
    const healthy = alpacaFakeApi({ keyId: KEY_ID, secretKey: SECRET, pageSize: 2000 });
    // The second chunk begins at 2024-01-07T04:00Z; its first page works, its second is refused.
    const secondChunk = Date.parse('2024-01-07T04:00:00Z');
    let refuse = true;
    let secondChunkPages = 0;
    const handler: FixtureHandler = (request) => {
      const start = Date.parse(request.url.searchParams.get('start') ?? '');
      if (refuse && start >= secondChunk && ++secondChunkPages === 2) {
        return { status: 403, json: { code: 40310000, message: 'access denied' } };
      }
      return healthy(request);
    };
    const server = await serve(handler);
    const dir = tempDir();
    const job = { symbols: SYMBOLS, interval: '1m', start: '2024-01-02', end: '2024-01-13' };
    const config = writeProviderTestConfig(
      dir,
      kind,
      // The server's pages hold 2,000 bars: the second chunk's batch needs 3 pages.
      alpacaEntry(server.url),
      { minutes: job },
    );
    // One batch at a time: a failing batch stops the ones in flight, which would blur the picture.
    writeFileSync(config, readFileSync(config, 'utf8').replace('concurrency: 2', 'concurrency: 1'));
    const failed = await runCli(['backfill', '--config', config, '--job', 'minutes'], {
      env: ENV,
    });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('403 Forbidden: access denied (code 40310000)');
    // The first chunk (2024-01-02 to 01-05, 4 session days) is whole; nothing of the second.
    const partial = await storage.barSnapshot(dir);
    expect(partial.perSymbol).toEqual({ AAPL: 1560, MSFT: 1560, SPY: 1560 });
    expect(await storage.checkpointedRows(dir)).toBe(3 * 1560);

    refuse = false;
    const before = server.requests.length;
    const rerun = await runCli(['backfill', '--config', config, '--job', 'minutes'], { env: ENV });
    expect(rerun.code, rerun.stderr).toBe(0);
    // 2024-01-08 to 01-12 is 5 session days: 5,850 bars in 3 pages, all from the second chunk.
    const again = server.requests.slice(before);
    expect(again).toHaveLength(3);
    for (const request of again) {
      expect(Date.parse(request.url.searchParams.get('start') ?? '')).toBeGreaterThanOrEqual(
        secondChunk,
      );
    }
    const whole = await storage.barSnapshot(dir);
    expect(whole.perSymbol).toEqual({ AAPL: 1560 + 1950, MSFT: 1560 + 1950, SPY: 1560 + 1950 });
    expect(await storage.checkpointedRows(dir)).toBe(3 * (1560 + 1950));
  });

  it('a live cycle asks for every symbol that starts at the same bar in one request', async () => {
    const server = await serve(
      alpacaFakeApi({ keyId: KEY_ID, secretKey: SECRET, pageSize: 10_000 }),
    );
    const dir = tempDir();
    const config = writeLiveConfig(kind, dir, server.url, {});
    const first = await runCli(['run', '--config', config, '--job', 'daily_live'], { env: ENV });
    expect(first.code, first.stderr).toBe(0);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.url.searchParams.get('symbols')).toBe('SPY,AAPL,MSFT');
    const stored = await storage.barSnapshot(dir);
    // About 21 weekdays in 30 days, the same for every symbol.
    expect(Object.keys(stored.perSymbol).sort()).toEqual(['AAPL', 'MSFT', 'SPY']);
    const counts = new Set(Object.values(stored.perSymbol));
    expect(counts.size).toBe(1);
    expect([...counts][0]).toBeGreaterThanOrEqual(19);

    // One symbol at a time when the provider is told so.
    const single = tempDir();
    const singleConfig = writeLiveConfig(kind, single, server.url, { symbols_per_request: 1 });
    const second = await runCli(['run', '--config', singleConfig, '--job', 'daily_live'], {
      env: ENV,
    });
    expect(second.code, second.stderr).toBe(0);
    expect(server.requests.slice(1).map((r) => r.url.searchParams.get('symbols'))).toEqual(
      expect.arrayContaining(SYMBOLS),
    );
    expect(server.requests).toHaveLength(1 + 3);
    expect((await storage.barSnapshot(single)).digest).toBe(stored.digest);
  });

  it('a live batch cut at its page size without a token goes round again until every symbol is whole', async () => {
    const api = alpacaFakeApi({ keyId: KEY_ID, secretKey: SECRET, pageSize: 10_000 });
    // Alpaca's answer when it stops at `limit` and offers no way on: the token is dropped.
    const server = await serve(async (request) => {
      const reply = await api(request);
      const body = reply.json as { next_page_token?: unknown };
      return { ...reply, json: { ...body, next_page_token: null } };
    });
    const cut = tempDir();
    const config = writeLiveConfig(kind, cut, server.url, { limit: 30 });
    const run = await runCli(['run', '--config', config, '--job', 'daily_live'], { env: ENV });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('stops short of the window without a continuation');
    // The first page (30 bars, sorted AAPL, MSFT, SPY) names all three; later rounds ask for
    // the symbols still short, from where each stopped.
    expect(server.requests[0]?.url.searchParams.get('symbols')).toBe('SPY,AAPL,MSFT');
    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    expect(server.requests.length).toBeLessThanOrEqual(5);

    const reference = tempDir();
    const whole = await runCli(
      ['run', '--config', writeLiveConfig(kind, reference, server.url, {}), '--job', 'daily_live'],
      { env: ENV },
    );
    expect(whole.code, whole.stderr).toBe(0);
    const [got, want] = [await storage.barSnapshot(cut), await storage.barSnapshot(reference)];
    expect(got.perSymbol).toEqual(want.perSymbol);
    expect(got.digest).toBe(want.digest);
  });

  it('a live batch that stays cut short without progress ends the cycle with a warning, not a loop', async () => {
    // Every answer: a full page of one old bar repeated, no token. Nothing lands in the window.
    const old = { t: '2020-01-02T05:00:00Z', o: 1, h: 2, l: 0.5, c: 1.5, v: 10 };
    const server = await serve(() => ({
      json: { bars: { SPY: Array.from({ length: 5 }, () => old) }, next_page_token: null },
    }));
    const dir = tempDir();
    const config = writeLiveConfig(kind, dir, server.url, { limit: 5 });
    const run = await runCli(['run', '--config', config, '--job', 'daily_live'], { env: ENV });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('stays short of the cycle without progress');
    expect(server.requests).toHaveLength(1);
    expect(run.stdout).toMatch(/success: 0 rows written, 5 rejected/);
  });

  it('SIGINT while a batch is in flight: exit 130, none of its bars stored, the rerun fetches it whole', async () => {
    const healthy = alpacaFakeApi({ keyId: KEY_ID, secretKey: SECRET, pageSize: 10_000 });
    const secondChunk = Date.parse('2024-01-07T04:00:00Z');
    let stall = true;
    let stalled = false;
    const server = await serve(async (request) => {
      const start = Date.parse(request.url.searchParams.get('start') ?? '');
      if (stall && start >= secondChunk) {
        // The second chunk's batch hangs until the run is interrupted.
        stalled = true;
        await new Promise((resolve) => setTimeout(resolve, 20_000).unref());
      }
      return healthy(request);
    });
    const dir = tempDir();
    const job = { symbols: SYMBOLS, interval: '1m', start: '2024-01-02', end: '2024-01-13' };
    const config = writeProviderTestConfig(dir, kind, alpacaEntry(server.url), { minutes: job });
    writeFileSync(config, readFileSync(config, 'utf8').replace('concurrency: 2', 'concurrency: 1'));

    const child = spawnCli(['backfill', '--config', config, '--job', 'minutes'], { env: ENV });
    const exited = collect(child);
    const deadline = Date.now() + 30_000;
    while (!stalled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(stalled).toBe(true);
    child.kill('SIGINT');
    const result = await exited;
    expect(result.code).toBe(130);
    expect(result.stdout).toMatch(/^run 1 minutes cancelled: 4,680 rows written/m);
    // The first chunk is whole and checkpointed; nothing of the interrupted batch.
    expect((await storage.barSnapshot(dir)).perSymbol).toEqual({
      AAPL: 1560,
      MSFT: 1560,
      SPY: 1560,
    });
    expect(await storage.checkpointedRows(dir)).toBe(3 * 1560);

    stall = false;
    const before = server.requests.length;
    const rerun = await runCli(['backfill', '--config', config, '--job', 'minutes'], { env: ENV });
    expect(rerun.code, rerun.stderr).toBe(0);
    const again = server.requests.slice(before);
    expect(again).toHaveLength(1);
    expect(again[0]?.url.searchParams.get('symbols')).toBe('SPY,AAPL,MSFT');
    expect((await storage.barSnapshot(dir)).perSymbol).toEqual({
      AAPL: 1560 + 1950,
      MSFT: 1560 + 1950,
      SPY: 1560 + 1950,
    });
  });
});
