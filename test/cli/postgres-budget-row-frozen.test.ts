import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { POLYGON_TEST_KEY } from '../helpers/concurrent-backfills.js';
import { useFixtureServer, type FixtureHandler } from '../helpers/fixture-server.js';
import { schemaForDir } from '../helpers/postgres-test-names.js';
import { testPostgresUrl } from '../helpers/postgres-test-server.js';
import { writeProviderTestConfig } from '../helpers/provider-test-config.js';
import { collect, spawnCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { polygonFakeApi } from '../providers/polygon/polygon-fake-api.js';

const tempDir = useTempDir();
const serve = useFixtureServer();

const holders: pg.Client[] = [];
afterEach(async () => {
  for (const client of holders.splice(0)) await client.end().catch(() => undefined);
});

/** The provider's pacing: 600 a minute, burst 4 (10 requests a second once the burst is spent). */
const PACING = { requests_per_minute: 600, burst: 4, cooldown_seconds: 1 };

/**
 * A backfill of SPY 1m bars over four days (29 requests of 200 bars) on a PostgreSQL store with
 * `storage.primary.lock_timeout`; the provider's budget row already exists.
 */
async function setUp(
  lockTimeout: string,
): Promise<{ dir: string; config: string; requests: number[] }> {
  const dir = tempDir();
  const requests: number[] = [];
  const api = polygonFakeApi({ apiKey: POLYGON_TEST_KEY, pageSize: 200 });
  const handler: FixtureHandler = (request) => {
    requests.push(performance.now());
    return api(request);
  };
  const { url } = await serve(handler);
  const config = writeProviderTestConfig(
    dir,
    'postgres',
    { type: 'polygon', api_key: '${POLYGON_API_KEY}', base_url: url, limit: 200, pacing: PACING },
    { spy: { symbols: ['SPY'], interval: '1m', start: '2023-01-02', end: '2023-01-06' } },
  );
  const doc = parse(readFileSync(config, 'utf8')) as {
    storage: { primary: Record<string, unknown> };
  };
  doc.storage.primary.lock_timeout = lockTimeout;
  writeFileSync(config, stringify(doc));
  // The schema, migrated, with the provider's row (as any earlier run leaves it).
  const store = new PostgresStore({ uri: testPostgresUrl(), schema: schemaForDir(dir) });
  await store.open();
  await store.budgets.take('source', { burst: 4, ratePerMs: 0.01, phaseMarginMs: 0 });
  await store.close();
  return { dir, config, requests };
}

/**
 * Another mdp process frozen (SIGSTOP, a VM paused, a debugger) between its take's lock and its
 * commit: its session holds the row lock and sits idle in transaction until the server ends it
 * at mdp's idle_in_transaction_timeout (60 s by default).
 */
async function freezeMidTake(dir: string): Promise<void> {
  const client = new pg.Client({ connectionString: testPostgresUrl() });
  holders.push(client);
  // The server ends the frozen session at its idle_in_transaction timeout: expected here.
  client.on('error', () => undefined);
  await client.connect();
  await client.query('SET idle_in_transaction_session_timeout = 60000');
  await client.query('BEGIN');
  await client.query(
    `SELECT * FROM ${schemaForDir(dir)}.provider_budgets WHERE provider = 'source' FOR UPDATE`,
  );
}

describe('a process frozen mid-take, holding the provider budget row (PostgreSQL)', () => {
  it(
    'another process still fetches at its pace (it falls back to pacing alone), not one request per lock_timeout',
    { timeout: 150_000 },
    async () => {
      const { dir, config, requests } = await setUp('3s');
      await freezeMidTake(dir);
      const started = performance.now();
      const result = await collect(
        spawnCli(['backfill', '--config', config, '--job', 'spy'], {
          env: { POLYGON_API_KEY: POLYGON_TEST_KEY },
        }),
        140_000,
      );
      expect(result.code, result.stderr).toBe(0);
      // In the first 10 s, pacing alone at 600 a minute would send every one of the 29 requests
      // (4 at once, then 10 a second). Each take instead waits the 3 s lock_timeout for the row
      // before falling back for that one request, and the next take waits again.
      const inFirst10s = requests.filter((t) => t - started < 10_000).length;
      expect(inFirst10s, `${inFirst10s} of ${requests.length} requests in the first 10 s`).toBe(
        requests.length,
      );
    },
  );

  it(
    'SIGTERM while a take waits for the locked row exits 143 promptly, not after lock_timeout',
    { timeout: 90_000 },
    async () => {
      const { dir, config } = await setUp('40s');
      await freezeMidTake(dir);
      const child = spawnCli(['backfill', '--config', config, '--job', 'spy'], {
        env: { POLYGON_API_KEY: POLYGON_TEST_KEY },
      });
      const done = collect(child, 80_000);
      // Long enough to start and reach the first take, which then waits on the row lock.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const signalled = performance.now();
      child.kill('SIGTERM');
      const result = await done;
      const tookMs = performance.now() - signalled;
      expect(result.code, result.stderr).toBe(143);
      expect(tookMs, `exited ${Math.round(tookMs)} ms after SIGTERM`).toBeLessThan(10_000);
    },
  );
});
