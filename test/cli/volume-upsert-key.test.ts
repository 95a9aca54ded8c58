/**
 * `volume` among storage.primary.write.upsert_keys: a key column cannot be NULL, but an index
 * aggregate (Polygon's `I:NDX`) has no volume, so the backfill used to pass `mdp validate` and then
 * fail mid-run on a NOT NULL constraint after the stock's batch was written. Validate refuses the
 * key up front, naming it with its line and column, like vwap and trade_count.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { useFixtureServer } from '../helpers/fixture-server.js';
import { writeProviderTestConfig } from '../helpers/provider-test-config.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';
import { polygonFakeApi } from '../providers/polygon/polygon-fake-api.js';

const KEY = 'pk_volume_key_K3y';
const tempDir = useTempDir();

describe.each(STORAGE_KINDS)('volume among the upsert keys on %s', (kind) => {
  const storage = useTestStorage(kind);
  const serve = useFixtureServer();

  it('is a validate error with line and column; the backfill is refused before storing anything', async () => {
    const server = await serve(polygonFakeApi({ apiKey: KEY, pageSize: 1000 }));
    const dir = tempDir();
    const file = writeProviderTestConfig(
      dir,
      kind,
      { type: 'polygon', api_key: '${POLYGON_API_KEY}', base_url: server.url },
      {
        daily: {
          symbols: ['SPY', 'I:NDX'],
          interval: '1d',
          start: '2023-01-01',
          end: '2023-02-01',
        },
      },
    );
    const config = parse(readFileSync(file, 'utf8')) as {
      storage: { primary: { write: Record<string, unknown> } };
    };
    config.storage.primary.write.upsert_keys = ['provider', 'symbol', 'interval', 'ts', 'volume'];
    const text = stringify(config);
    writeFileSync(file, text);
    const lines = text.split('\n');
    const line = lines.findIndex((l) => /^\s+- volume$/.test(l));
    const column = (lines[line] ?? '').indexOf('volume') + 1;
    const env = { POLYGON_API_KEY: KEY };

    const validate = await runCli(['validate', '--config', file], { env });
    expect(validate.code, validate.stderr).toBe(2);
    expect(validate.stderr).toContain(
      `mdp.yaml:${line + 1}:${column} storage.primary.write.upsert_keys[4]: volume`,
    );
    expect(validate.stderr).toContain('volume may be unknown (index aggregates have none)');
    // The way out for a database that was created with volume in its key.
    expect(validate.stderr).toContain('created with volume among its upsert keys');

    const backfill = await runCli(['backfill', '--config', file, '--job', 'daily'], { env });
    expect(backfill.code, backfill.stderr).toBe(2);
    expect(backfill.stderr).not.toContain('NOT NULL');
    expect(await storage.countRows(dir, 'bars_ohlcv').catch(() => 0)).toBe(0);
  });
});
