import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { POLYGON_TEST_KEY } from '../helpers/concurrent-backfills.js';
import { useFixtureServer } from '../helpers/fixture-server.js';
import { writeProviderTestConfig } from '../helpers/provider-test-config.js';
import { rateLimited } from '../helpers/rate-limited-server.js';
import { collect, spawnCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, type StorageKind } from '../helpers/test-storage.js';
import { polygonFakeApi } from '../providers/polygon/polygon-fake-api.js';

const tempDir = useTempDir();
const serve = useFixtureServer();

/**
 * The provider's limit, and the strict process's `pacing:` (as test/cli/shared-budget.test.ts:
 * a rate a loaded host still keeps up with). The generous process asks for five times as much.
 */
const STRICT = { requests_per_minute: 120, burst: 4 };
const GENEROUS = { requests_per_minute: 600, burst: 4 };

/** Writes `dir/NAME.yaml`: one backfill job `NAME` of 1m bars of `symbol`, paced by `pacing`. */
function backfillConfig(
  dir: string,
  storage: StorageKind,
  baseUrl: string,
  name: string,
  symbol: string,
  pacing: Record<string, unknown>,
): string {
  const written = writeProviderTestConfig(
    dir,
    storage,
    { type: 'polygon', api_key: '${POLYGON_API_KEY}', base_url: baseUrl, limit: 200, pacing },
    { [name]: { symbols: [symbol], interval: '1m', start: '2023-01-03', end: '2023-01-05' } },
  );
  const file = join(dir, `${name}.yaml`);
  renameSync(written, file);
  return file;
}

describe.each(STORAGE_KINDS)(
  'two processes on one %s store pacing one provider at different rates',
  (storage) => {
    it(
      'are held to the stricter rate: no 429 from a server whose limit it is, and the generous one says so',
      { timeout: 120_000 },
      async () => {
        const server = rateLimited(
          polygonFakeApi({ apiKey: POLYGON_TEST_KEY, pageSize: 200 }),
          STRICT,
        );
        const { url } = await serve(server.handler);
        const dir = tempDir();
        const strictConfig = backfillConfig(dir, storage, url, 'strict', 'SPY', STRICT);
        const generousConfig = backfillConfig(dir, storage, url, 'generous', 'QQQ', GENEROUS);
        const env = { POLYGON_API_KEY: POLYGON_TEST_KEY };
        const run = (config: string, job: string) =>
          collect(spawnCli(['backfill', '--config', config, '--job', job], { env }), 90_000);

        // The strict process is running (its first request served) when the generous one starts:
        // a process can hold others to its rate only once it has taken from the budget.
        const strict = run(strictConfig, 'strict');
        while (server.served.length === 0 && server.refused.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const generous = await run(generousConfig, 'generous');
        const strictResult = await strict;
        expect(strictResult.code, strictResult.stderr).toBe(0);
        expect(generous.code, generous.stderr).toBe(0);

        expect(server.refused).toEqual([]);
        // 2 days of minutes in 200-minute chunks, a request each, for each of the two jobs.
        expect(server.served.length).toBeGreaterThanOrEqual(2 * Math.ceil((2 * 1440) / 200));
        const warning =
          /provider source: its budget on the store holds every process to 120\/min burst 4, the strictest a process on the store asked for in the last 5 minutes .*not this process's 600\/min burst 4\. Make providers\.source\.pacing agree in every config on the store/;
        expect(generous.stderr).toMatch(warning);
        // Said once, not at every take.
        expect(generous.stderr.match(new RegExp(warning.source, 'g'))).toHaveLength(1);
        expect(strictResult.stderr).not.toMatch(/its budget on the store holds every process/);
      },
    );
  },
);
