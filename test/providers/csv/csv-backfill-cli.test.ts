import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';
import { sessionBars } from '../../helpers/market-session-bars.js';
import { writeProviderTestConfig } from '../../helpers/provider-test-config.js';
import { useTempDir } from '../../helpers/temp-dir.js';
import { STORAGE_KINDS, useTestStorage } from '../../helpers/test-storage.js';

const tempDir = useTempDir();
const FROM = Date.parse('2024-01-02T00:00:00Z');
const TO = Date.parse('2024-01-20T00:00:00Z');

/** A vendor-style file: New York wall-clock times without a zone, one symbol per file. */
function vendorFile(symbol: string): string {
  const lines = ['Date Time;Open;High;Low;Close;Volume'];
  for (const bar of sessionBars(symbol, 'minute', FROM, TO - 1)) {
    const wall = new Date(bar.t - 5 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    lines.push(`${wall};${bar.o};${bar.h};${bar.l};${bar.c};${bar.v}`);
  }
  return `${lines.join('\n')}\n`;
}

describe.each(STORAGE_KINDS)('mdp backfill from csv files into %s', (kind) => {
  const storage = useTestStorage(kind);

  it('stores every row of every file, in chunks, and records unreadable rows with file:line', async () => {
    const dir = tempDir();
    const data = join(dir, 'vendor');
    mkdirSync(data);
    writeFileSync(join(data, 'AAPL.csv'), vendorFile('AAPL'));
    // One broken row in the gzipped file, on line 3.
    const spy = vendorFile('SPY').split('\n');
    spy.splice(2, 0, '2024-01-02 09:31:30;oops;1;1;1;1');
    writeFileSync(join(data, 'SPY.csv.gz'), gzipSync(spy.join('\n')));

    const config = writeProviderTestConfig(
      dir,
      kind,
      {
        type: 'csv',
        path: data,
        delimiter: ';',
        columns: {
          ts: 'Date Time',
          open: 'Open',
          high: 'High',
          low: 'Low',
          close: 'Close',
          volume: 'Volume',
        },
        timestamp: { format: 'iso', time_zone: 'America/New_York' },
        // Chunks of 2,000 minutes: a dozen chunks per symbol over the window.
        max_bars_per_request: 2000,
      },
      {
        minutes: {
          symbols: ['AAPL', 'SPY'],
          interval: '1m',
          start: '2024-01-02',
          end: '2024-01-20',
        },
      },
    );
    const result = await runCli(['backfill', '--config', config, '--job', 'minutes']);
    expect(result.code, result.stderr).toBe(0);
    const perSymbol = sessionBars('AAPL', 'minute', FROM, TO - 1).length;
    expect(result.stdout).toContain(
      `success: ${(2 * perSymbol).toLocaleString('en-US')} rows written, 1 rejected`,
    );
    expect((await storage.barSnapshot(dir)).perSymbol).toEqual({ AAPL: perSymbol, SPY: perSymbol });
    expect(await storage.countRows(dir, 'bars_rejected')).toBe(1);
    expect(await storage.checkpointedRows(dir)).toBe(2 * perSymbol);
  });
});
