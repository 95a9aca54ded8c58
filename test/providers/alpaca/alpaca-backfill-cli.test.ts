import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';
import { useFixtureServer } from '../../helpers/fixture-server.js';
import { writeProviderTestConfig } from '../../helpers/provider-test-config.js';
import { useTempDir } from '../../helpers/temp-dir.js';
import { STORAGE_KINDS, useTestStorage } from '../../helpers/test-storage.js';
import { alpacaFakeApi } from './alpaca-fake-api.js';

const KEY_ID = 'PKCLITEST4R7T9Y2';
const SECRET = 'sk_cli_Xw5Qe8Rt1Yu4';
const tempDir = useTempDir();

const MINUTE_JOB = {
  symbols: ['AAPL', 'SPY'],
  interval: '1m',
  start: '2024-01-02',
  end: '2024-01-06',
};
const DAILY_JOB = { symbols: ['SPY'], interval: '1d', start: '2023-01-01', end: '2024-01-01' };

describe.each(STORAGE_KINDS)('mdp backfill from alpaca into %s', (kind) => {
  const storage = useTestStorage(kind);
  const serve = useFixtureServer();

  it('stores every bar once, following next_page_token, through a 429 and a 500', async () => {
    const server = await serve(
      alpacaFakeApi({
        keyId: KEY_ID,
        secretKey: SECRET,
        pageSize: 200,
        script: [
          {
            status: 429,
            headers: { 'Retry-After': '1' },
            json: { code: 42910000, message: 'rate limit exceeded' },
          },
          { status: 500, json: { message: 'internal server error' } },
        ],
      }),
    );
    const dir = tempDir();
    const config = writeProviderTestConfig(
      dir,
      kind,
      {
        type: 'alpaca',
        key_id: '${ALPACA_KEY_ID}',
        secret_key: '${ALPACA_SECRET_KEY}',
        base_url: server.url,
        feed: 'iex',
        pacing: { requests_per_minute: 6000, burst: 20, cooldown_seconds: 0 },
      },
      { minutes: MINUTE_JOB, daily: DAILY_JOB },
    );
    const env = { ALPACA_KEY_ID: KEY_ID, ALPACA_SECRET_KEY: SECRET };

    const minutes = await runCli(['backfill', '--config', config, '--job', 'minutes'], { env });
    expect(minutes.code, minutes.stderr).toBe(0);
    expect(minutes.stdout).toMatch(/^run 1 minutes success: 3,120 rows written, 0 rejected/m);
    // 1,560 bars a symbol in pages of 200: 8 pages each, plus the scripted 429 and 500.
    expect(server.requests).toHaveLength(2 * 8 + 2);
    expect(server.requests.at(-1)?.url.searchParams.get('feed')).toBe('iex');

    const daily = await runCli(['backfill', '--config', config, '--job', 'daily'], { env });
    expect(daily.code, daily.stderr).toBe(0);
    expect(daily.stdout).toMatch(/success: 260 rows written, 0 rejected/);

    const bars = await storage.barSnapshot(dir);
    expect(bars.perSymbol).toEqual({ AAPL: 1560, SPY: 1560 + 260 });
    const rows = JSON.parse(bars.digest) as unknown[][];
    const dailyTimes = rows.filter((row) => row[2] === '1d').map((row) => Number(row[3]));
    expect(dailyTimes.every((ts) => ts % 86_400_000 === 0)).toBe(true);

    const output = minutes.stdout + minutes.stderr + daily.stdout + daily.stderr;
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain(KEY_ID);
  });

  it('refused credentials fail the run with exit 1 and the provider message', async () => {
    const server = await serve(alpacaFakeApi({ keyId: KEY_ID, secretKey: SECRET, pageSize: 1000 }));
    const dir = tempDir();
    const config = writeProviderTestConfig(
      dir,
      kind,
      {
        type: 'alpaca',
        key_id: '${ALPACA_KEY_ID}',
        secret_key: '${ALPACA_SECRET_KEY}',
        base_url: server.url,
      },
      { minutes: MINUTE_JOB },
    );
    const result = await runCli(['backfill', '--config', config, '--job', 'minutes'], {
      env: { ALPACA_KEY_ID: KEY_ID, ALPACA_SECRET_KEY: 'not-the-secret' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('401 Unauthorized: request is not authorized (code 40110000)');
    expect(result.stderr).not.toContain('not-the-secret');
    expect(await storage.jobRuns(dir)).toMatchObject([{ status: 'failure' }]);
  });
});

describe('alpaca symbols written in another case', () => {
  const serve = useFixtureServer();

  it('are a validate error naming the line, column and the upper-case spelling; backfill never asks', async () => {
    const server = await serve(alpacaFakeApi({ keyId: KEY_ID, secretKey: SECRET, pageSize: 1000 }));
    const dir = tempDir();
    const config = writeProviderTestConfig(
      dir,
      'sqlite',
      {
        type: 'alpaca',
        key_id: '${ALPACA_KEY_ID}',
        secret_key: '${ALPACA_SECRET_KEY}',
        base_url: server.url,
      },
      { minutes: { ...MINUTE_JOB, symbols: ['SPY', 'aapl', 'Brk.B'] } },
    );
    const lines = readFileSync(config, 'utf8').split('\n');
    const where = (symbol: string): string => {
      const line = lines.findIndex((text) => text.endsWith(`- ${symbol}`));
      return `${config}:${line + 1}:${(lines[line] as string).indexOf(symbol) + 1}`;
    };
    const env = { ALPACA_KEY_ID: KEY_ID, ALPACA_SECRET_KEY: SECRET };

    const validate = await runCli(['validate', '--config', config], { env });
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain('MDP_CONFIG_INVALID');
    expect(validate.stderr).toContain(
      `${where('aapl')} datasets.minutes_data.symbols[1]: alpaca answers symbols in upper case`,
    );
    expect(validate.stderr).toContain('write "AAPL"');
    expect(validate.stderr).toContain(`${where('Brk.B')} datasets.minutes_data.symbols[2]:`);
    expect(validate.stderr).toContain('write "BRK.B"');
    expect(validate.stderr).not.toContain('symbols[0]');

    const backfill = await runCli(['backfill', '--config', config, '--job', 'minutes'], { env });
    expect(backfill.code).toBe(2);
    expect(backfill.stderr).toContain(`${where('aapl')} datasets.minutes_data.symbols[1]:`);
    expect(server.requests).toHaveLength(0);
  });
});
