import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';
import { useFixtureServer } from '../../helpers/fixture-server.js';
import { sessionBars } from '../../helpers/market-session-bars.js';
import { writeProviderTestConfig } from '../../helpers/provider-test-config.js';
import { useTempDir } from '../../helpers/temp-dir.js';
import { STORAGE_KINDS, useTestStorage } from '../../helpers/test-storage.js';
import { DEFAULT_UPSERT_KEYS } from '../../../src/store/upsert-keys.js';
import { createEarlierSchema } from '../../helpers/earlier-schema.js';
import { polygonFakeApi } from './polygon-fake-api.js';

const KEY = 'pk_cli_T3stKey_9zQ';
const tempDir = useTempDir();

/** Tue 2 – Fri 5 January 2024: four sessions of 390 minutes. */
const MINUTE_JOB = {
  symbols: ['AAPL', 'SPY'],
  interval: '1m',
  start: '2024-01-02',
  end: '2024-01-06',
};
/** SPY daily over 2023: every weekday (the fake has no holidays). */
const DAILY_JOB = { symbols: ['SPY'], interval: '1d', start: '2023-01-01', end: '2024-01-01' };

/** The S&P 500 index over one session: Polygon sends its values without volume. */
const INDEX_JOB = { symbols: ['I:SPX'], interval: '1m', start: '2024-01-02', end: '2024-01-03' };

describe.each(STORAGE_KINDS)('mdp backfill from polygon into %s', (kind) => {
  const storage = useTestStorage(kind);
  const serve = useFixtureServer();

  it('stores every bar once, following next_url pages, through a 429 and a 500', async () => {
    const server = await serve(
      polygonFakeApi({
        apiKey: KEY,
        pageSize: 150,
        script: [
          {
            status: 429,
            headers: { 'Retry-After': '1' },
            json: {
              status: 'ERROR',
              request_id: 'r429',
              error: "You've exceeded the maximum requests per minute",
            },
          },
          { status: 500, text: 'upstream hiccup' },
        ],
      }),
    );
    const dir = tempDir();
    const config = writeProviderTestConfig(
      dir,
      kind,
      {
        type: 'polygon',
        api_key: '${POLYGON_API_KEY}',
        base_url: server.url,
        pacing: { requests_per_minute: 6000, burst: 20, cooldown_seconds: 0 },
      },
      { minutes: MINUTE_JOB, daily: DAILY_JOB },
    );
    const env = { POLYGON_API_KEY: KEY };

    const minutes = await runCli(['backfill', '--config', config, '--job', 'minutes'], { env });
    expect(minutes.code, minutes.stderr).toBe(0);
    expect(minutes.stdout).toMatch(/^run 1 minutes success: 3,120 rows written, 0 rejected/m);
    // 1,560 bars a symbol in pages of 150: 11 pages each, plus the scripted 429 and 500.
    expect(server.requests).toHaveLength(2 * 11 + 2);
    expect(minutes.stderr).toContain('provider answered 429');
    expect(minutes.stderr).toContain('500 Internal Server Error: upstream hiccup');

    const daily = await runCli(['backfill', '--config', config, '--job', 'daily'], { env });
    expect(daily.code, daily.stderr).toBe(0);
    expect(daily.stdout).toMatch(/success: 260 rows written, 0 rejected/);

    const bars = await storage.barSnapshot(dir);
    expect(bars.perSymbol).toEqual({ AAPL: 1560, SPY: 1560 + 260 });
    const rows = JSON.parse(bars.digest) as unknown[][];
    const [firstAapl] = sessionBars(
      'AAPL',
      'minute',
      Date.parse('2024-01-02'),
      Date.parse('2024-01-03'),
    );
    expect(rows[0]?.map(Number).slice(3)).toEqual([
      firstAapl?.t,
      firstAapl?.o,
      firstAapl?.h,
      firstAapl?.l,
      firstAapl?.c,
      firstAapl?.v,
      firstAapl?.vw,
      firstAapl?.n,
    ]);
    // Daily bars are stored at the UTC midnight of their date.
    const dailyTimes = rows.filter((row) => row[2] === '1d').map((row) => Number(row[3]));
    expect(dailyTimes.every((ts) => ts % 86_400_000 === 0)).toBe(true);
    expect(new Date(dailyTimes[0] as number).toISOString()).toBe('2023-01-02T00:00:00.000Z');

    expect(minutes.stdout + minutes.stderr + daily.stdout + daily.stderr).not.toContain(KEY);
    const rerun = await runCli(['backfill', '--config', config, '--job', 'minutes'], { env });
    expect(rerun.stdout).toContain('success: 0 rows written');
  });

  it('stores index aggregates (I:SPX, without v, vw and n) with volume, vwap and trade_count NULL, in a database an earlier mdp made', async () => {
    const server = await serve(polygonFakeApi({ apiKey: KEY, pageSize: 1000 }));
    const dir = tempDir();
    // Schema version 2 (volume NOT NULL), holding a day of SPY: the run migrates it first.
    const spy = sessionBars('SPY', 'minute', Date.parse('2024-01-02'), Date.parse('2024-01-03'));
    await createEarlierSchema(kind, dir, {
      version: 2,
      upsertKeys: DEFAULT_UPSERT_KEYS,
      bars: spy.map((bar) => ({
        provider: 'source',
        symbol: 'SPY',
        interval: '1m',
        ts: bar.t,
        open: bar.o,
        high: bar.h,
        low: bar.l,
        close: bar.c,
        volume: bar.v,
        vwap: bar.vw,
        tradeCount: bar.n,
      })),
      now: Date.parse('2024-01-04'),
    });
    const earlier = JSON.parse((await storage.barSnapshot(dir)).digest) as unknown[][];
    expect(earlier).toHaveLength(390);
    const config = writeProviderTestConfig(
      dir,
      kind,
      { type: 'polygon', api_key: '${POLYGON_API_KEY}', base_url: server.url },
      { index: INDEX_JOB },
    );
    const result = await runCli(['backfill', '--config', config, '--job', 'index'], {
      env: { POLYGON_API_KEY: KEY },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^run 1 index success: 390 rows written, 0 rejected/m);
    expect(server.requests[0]?.url.pathname).toContain('/v2/aggs/ticker/I%3ASPX/range/1/minute/');

    const bars = await storage.barSnapshot(dir);
    expect(bars.perSymbol).toEqual({ 'I:SPX': 390, SPY: 390 });
    const rows = JSON.parse(bars.digest) as unknown[][];
    const expected = sessionBars(
      'I:SPX',
      'minute',
      Date.parse('2024-01-02'),
      Date.parse('2024-01-03'),
    );
    // Unknown stays unknown: NULL, never 0, in every row.
    expect(rows.slice(0, 390).map((row) => row.slice(3))).toEqual(
      expected.map((bar) => [bar.t, bar.o, bar.h, bar.l, bar.c, null, null, null]),
    );
    expect(rows.slice(390)).toEqual(earlier);
  });

  it('a refused key fails the run at once with exit 1 and the provider message', async () => {
    const server = await serve(polygonFakeApi({ apiKey: KEY, pageSize: 1000 }));
    const dir = tempDir();
    const config = writeProviderTestConfig(
      dir,
      kind,
      { type: 'polygon', api_key: '${POLYGON_API_KEY}', base_url: server.url },
      { minutes: MINUTE_JOB },
    );
    const result = await runCli(['backfill', '--config', config, '--job', 'minutes'], {
      env: { POLYGON_API_KEY: 'wrong-key-123' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('MDP_PROVIDER_PERMANENT');
    expect(result.stderr).toContain('401 Unauthorized: ERROR: Unknown API Key');
    expect(result.stderr).not.toContain('wrong-key-123');
    expect(await storage.jobRuns(dir)).toMatchObject([{ status: 'failure' }]);
  });
});
