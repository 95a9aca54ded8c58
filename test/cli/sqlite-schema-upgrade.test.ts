/**
 * Migration 3 rebuilds `bars_ohlcv` on SQLite (it cannot drop a NOT NULL in place), holding the
 * write lock for time and taking free space in proportion to the table. The process doing it says
 * so before it starts, and a rebuild that runs out of room says it was the upgrade and how much it
 * needs, instead of a plain "disk full".
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEFAULT_UPSERT_KEYS } from '../../src/store/upsert-keys.js';
import { createEarlierSchema } from '../helpers/earlier-schema.js';
import { writeProviderTestConfig } from '../helpers/provider-test-config.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { useTestStorage } from '../helpers/test-storage.js';
import { makeBar } from '../store/store-conformance.js';

const tempDir = useTempDir();
const NOW = Date.UTC(2024, 5, 1);
const ROWS = 5_000;

/** A version-2 file of ROWS bars and a config on it, with `max_size` when given. */
async function earlierFileAndConfig(dir: string): Promise<{ config: string; file: string }> {
  await createEarlierSchema('sqlite', dir, {
    version: 2,
    upsertKeys: DEFAULT_UPSERT_KEYS,
    bars: Array.from({ length: ROWS }, (_, i) => makeBar(i)),
    now: NOW,
  });
  const config = writeProviderTestConfig(
    dir,
    'sqlite',
    { type: 'synthetic' },
    { daily: { symbols: ['AAA'], interval: '1d', start: '2024-01-01', end: '2024-01-05' } },
  );
  return { config, file: join(dir, 'data', 'test.db') };
}

describe('upgrading an sqlite file whose bars_ohlcv is rebuilt', () => {
  const storage = useTestStorage('sqlite');

  it('says so before it starts, with the rows and the space it needs', async () => {
    const dir = tempDir();
    const { config, file } = await earlierFileAndConfig(dir);
    const status = await runCli(['status', '--config', config]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toMatch(
      new RegExp(
        `upgrading ${file} to schema version 3: rebuilding bars_ohlcv \\(${ROWS} rows, ` +
          '[0-9.]+ (KB|MB)\\); this takes a while and needs about as much free space as the table',
      ),
    );
    // Once: the next open has nothing to rebuild.
    const again = await runCli(['status', '--config', config]);
    expect(again.stderr).not.toContain('rebuilding');
    expect(await storage.countRows(dir, 'bars_ohlcv')).toBe(ROWS);
  });

  it('out of room (max_size): MDP_STORE_FULL names the upgrade and the space it needs, and keeps every row', async () => {
    const dir = tempDir();
    const { config, file } = await earlierFileAndConfig(dir);
    const before = await storage.barSnapshot(dir);
    const parsed = parse(readFileSync(config, 'utf8')) as {
      storage: { primary: Record<string, unknown> };
    };
    parsed.storage.primary.max_size = `${statSync(file).size}B`;
    writeFileSync(config, stringify(parsed));

    const status = await runCli(['status', '--config', config]);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain('error [MDP_STORE_FULL]');
    expect(status.stderr).toMatch(
      new RegExp(
        `upgrading ${file} to schema version 3 \\(volume may be unknown\\) rebuilds bars_ohlcv ` +
          `\\(${ROWS} rows, [0-9.]+ (KB|MB)\\) and needs about that much free space, on the disk ` +
          'and below storage.primary.max_size if set',
      ),
    );
    expect(status.stderr).toContain('The upgrade was rolled back and nothing was changed');
    expect(await storage.barSnapshot(dir)).toEqual(before);

    delete parsed.storage.primary.max_size;
    writeFileSync(config, stringify(parsed));
    const upgraded = await runCli(['status', '--config', config]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(await storage.barSnapshot(dir)).toEqual(before);
  });
});
