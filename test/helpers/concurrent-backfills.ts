import { expect } from 'vitest';
import { runCli } from './run-cli.js';
import { writeProviderTestConfig } from './provider-test-config.js';
import type { StorageKind } from './test-storage.js';

/** The key the polygon fake of a concurrent-backfill test accepts. */
export const POLYGON_TEST_KEY = 'pk_budget_T3stKey';

/**
 * Runs one `mdp backfill` process per symbol at once, each its own job of 1m bars over `days`,
 * all on one polygon provider at `baseUrl` paced by `pacing`, and expects each to succeed. A
 * page (and a chunk) is 200 bars: a request per 200 minutes of each job's window.
 */
export async function concurrentBackfills(options: {
  readonly dir: string;
  readonly storage: StorageKind;
  readonly baseUrl: string;
  readonly pacing: Readonly<Record<string, unknown>>;
  readonly symbols: readonly string[];
  readonly days: { readonly start: string; readonly end: string };
}): Promise<void> {
  const jobs = Object.fromEntries(
    options.symbols.map((symbol) => [
      symbol.toLowerCase(),
      { symbols: [symbol], interval: '1m', ...options.days },
    ]),
  );
  const config = writeProviderTestConfig(
    options.dir,
    options.storage,
    {
      type: 'polygon',
      api_key: '${POLYGON_API_KEY}',
      base_url: options.baseUrl,
      limit: 200,
      pacing: options.pacing,
    },
    jobs,
  );
  const results = await Promise.all(
    Object.keys(jobs).map((name) =>
      runCli(['backfill', '--config', config, '--job', name], {
        env: { POLYGON_API_KEY: POLYGON_TEST_KEY },
        timeoutMs: 90_000,
      }),
    ),
  );
  for (const result of results) expect(result.code, result.stderr).toBe(0);
}
