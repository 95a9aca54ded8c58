import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';

const config = (path: string): string =>
  fileURLToPath(new URL(`../../configs/${path}`, import.meta.url));

const POLYGON_KEY = 'pk_validate_Kq27hZ';
const ALPACA_KEY_ID = 'PKVALIDATE8WX3';
const ALPACA_SECRET = 'sk_validate_Pm4Ld9';
const PG_PASSWORD = 'pg-Sekret-77';
const ENV = {
  POLYGON_API_KEY: POLYGON_KEY,
  ALPACA_KEY_ID,
  ALPACA_SECRET_KEY: ALPACA_SECRET,
  MDP_PG_URI: `postgresql://mdp:${PG_PASSWORD}@db.internal:5432/marketdata`,
};
const SECRETS = [POLYGON_KEY, ALPACA_KEY_ID, ALPACA_SECRET, PG_PASSWORD];

describe('the shipped provider configs validate', () => {
  it.each([
    [
      'base.yaml',
      'dev',
      'polygon_1  polygon  enabled  pacing 5/min burst 1 cooldown 60s scope store',
    ],
    ['base.yaml', 'staging', 'primary  postgres  postgresql://mdp:***@db.internal:5432/marketdata'],
    [
      'base.yaml',
      'prod',
      'polygon_1  polygon  enabled  pacing 600/min burst 10 cooldown 30s scope store',
    ],
    ['examples/polygon.yaml', undefined, 'polygon_1  polygon  enabled  pacing 5/min burst 1'],
    [
      'examples/alpaca.yaml',
      undefined,
      'alpaca_1  alpaca  enabled  pacing 200/min burst 1 cooldown 60s scope store  up to 100 symbols a request',
    ],
    ['examples/csv.yaml', undefined, 'vendor_csv  csv  enabled  no pacing'],
  ])('%s (profile %s)', async (file, profile, line) => {
    const args = ['validate', '--config', config(file), '--no-connect'];
    if (profile) args.push('--profile', profile);
    const result = await runCli(args, { env: ENV });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(line);
    const json = await runCli([...args, '--json'], { env: ENV });
    expect(json.code).toBe(0);
    for (const secret of SECRETS) expect(result.stdout + json.stdout).not.toContain(secret);
  });

  it('base.yaml holds the starter jobs', async () => {
    const result = await runCli(['validate', '--config', config('base.yaml')], { env: ENV });
    expect(result.stdout).toContain('live_us_equities  live  us_equities_1m  lookback 2h');
    expect(result.stdout).toContain(
      'spy_1day_backfill  backfill  spy_1d  2019-01-01T00:00:00Z → now',
    );
  });

  it('without the key, validate names the variable', async () => {
    const result = await runCli(['validate', '--config', config('examples/alpaca.yaml')], {
      env: { ALPACA_KEY_ID },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('environment variable ALPACA_SECRET_KEY is not set');
  });
});
