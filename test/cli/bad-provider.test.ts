/**
 * A provider that misbehaves: bad bars, empty or short pages, requests that hang. The synthetic
 * provider's `simulate` options produce each, seeded, so every run of these tests sees the same.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { barsInWindow } from '../../src/pipeline/runner/backfill-plan.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig, writeTestConfig, type TestConfigOptions } from '../helpers/test-config.js';
import { STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const PER_SYMBOL = barsInWindow(
  Date.parse('2024-01-01T00:00:00Z'),
  Date.parse('2024-01-03T00:00:00Z'),
  '1m',
);
const TOTAL = 2 * PER_SYMBOL;
const MINUTE = 60_000;

interface JobStatusJson {
  job_name: string;
  incomplete_chunks: { symbol: string; rows: number; expected_rows: number | null }[];
  rejected_by_reason: Record<string, number>;
}

async function jobStatus(config: string): Promise<JobStatusJson> {
  const result = await runCli(['status', '--config', config, '--json', '--job', 'backfill_job']);
  expect(result.code, result.stderr).toBe(0);
  const { jobs } = JSON.parse(result.stdout) as { jobs: JobStatusJson[] };
  return jobs[0] as JobStatusJson;
}

const backfill = (config: string) =>
  runCli(['backfill', '--config', config, '--job', 'backfill_job'], { timeoutMs: 60_000 });

describe.each(STORAGE_KINDS)('a misbehaving provider, on %s', (kind) => {
  const storage = useTestStorage(kind);
  const configIn = (dir: string, options: TestConfigOptions): string =>
    writeTestConfig(dir, { maxBarsPerRequest: 400, ...options, storage: kind });

  it('bad bars go to bars_rejected with their reason; none is stored; the run succeeds', async () => {
    const dir = tempDir();
    const config = configIn(dir, { badBars: { rate: 0.02 } });
    const result = await backfill(config);
    expect(result.code, result.stderr).toBe(0);

    const { rejected_by_reason: reasons, incomplete_chunks } = await jobStatus(config);
    expect(Object.keys(reasons).sort()).toEqual([
      'duplicate_ts',
      'high_below_low',
      'negative_volume',
      'non_finite',
      'unaligned_ts',
      'wrong_series',
    ]);
    // A bad bar still answers for its minute: no chunk is short for it.
    expect(incomplete_chunks).toEqual([]);
    const spoiled = reasons.non_finite! + reasons.high_below_low! + reasons.negative_volume!;
    const bars = await storage.barSnapshot(dir);
    expect(bars.count).toBe(TOTAL - spoiled);
    const summary = /success: ([\d,]+) rows written, ([\d,]+) rejected/.exec(result.stdout);
    expect(Number(summary?.[1]?.replace(/,/g, ''))).toBe(TOTAL - spoiled);
    expect(Number(summary?.[2]?.replace(/,/g, ''))).toBe(
      Object.values(reasons).reduce((sum, n) => sum + n, 0),
    );
    type Row = [string, string, string, number, number, number, number, number, number];
    for (const [, symbol, , ts, open, high, low, close, volume] of JSON.parse(
      bars.digest,
    ) as Row[]) {
      expect(['AAA', 'BBB']).toContain(symbol);
      expect(ts % MINUTE).toBe(0);
      expect([open, high, low, close, volume].every(Number.isFinite)).toBe(true);
      expect(high).toBeGreaterThanOrEqual(low);
      expect(volume).toBeGreaterThanOrEqual(0);
    }

    // Checkpointed chunks are done: a rerun neither refetches them nor rejects anything twice.
    const rejects = await storage.countRows(dir, 'bars_rejected');
    expect((await backfill(config)).stdout).toContain('success: 0 rows written, 0 rejected');
    expect(await storage.countRows(dir, 'bars_rejected')).toBe(rejects);
  });

  it('empty and short pages are fetched again until whole', async () => {
    const dir = tempDir();
    const config = configIn(dir, { emptyPages: 0.2, shortPages: 0.2, maxAttempts: 8 });
    const result = await backfill(config);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('provider page stopped short of the window; fetching it again');
    expect((await storage.barSnapshot(dir)).perSymbol).toEqual({
      AAA: PER_SYMBOL,
      BBB: PER_SYMBOL,
    });
    expect((await jobStatus(config)).incomplete_chunks).toEqual([]);
  });

  it.each([
    ['short', { shortPages: 1 }],
    ['empty', { emptyPages: 1 }],
  ] as const)(
    'pages that stay %s: what came is stored, the chunks are shown incomplete, a rerun refetches them',
    async (_what, fault) => {
      const dir = tempDir();
      const config = configIn(dir, { ...fault, maxAttempts: 2 });
      const first = await backfill(config);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toContain('recorded the chunk incomplete');
      const { incomplete_chunks: incomplete } = await jobStatus(config);
      const chunks = await storage.countRows(dir, 'job_checkpoints');
      expect(incomplete).toHaveLength(chunks);
      expect(first.stdout).toContain(
        `${chunks} chunks stayed short of the provider's window and are recorded incomplete`,
      );
      const stored = incomplete.reduce((sum, chunk) => sum + chunk.rows, 0);
      expect(incomplete.reduce((sum, chunk) => sum + (chunk.expected_rows ?? 0), 0)).toBe(TOTAL);
      expect((await storage.barSnapshot(dir)).count).toBe(stored);
      expect(stored).toBeLessThan(TOTAL);
      const table = await runCli(['status', '--config', config]);
      expect(table.stdout).toContain(`incomplete chunks of backfill_job (${chunks};`);

      // The provider behaves again: the rerun fetches the incomplete chunks, and only them.
      writeFileSync(config, stringify(testConfig(dir, { maxBarsPerRequest: 400, storage: kind })));
      const rerun = await backfill(config);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stdout).toContain(`success: ${TOTAL.toLocaleString('en-US')} rows written`);
      expect((await storage.barSnapshot(dir)).perSymbol).toEqual({
        AAA: PER_SYMBOL,
        BBB: PER_SYMBOL,
      });
      expect((await jobStatus(config)).incomplete_chunks).toEqual([]);
      expect((await backfill(config)).stdout).toContain('success: 0 rows written');
    },
  );

  it('a request that hangs is aborted by request_timeout and retried as transient', async () => {
    const dir = tempDir();
    const config = configIn(dir, { hangRate: 0.3, requestTimeout: '200ms', maxAttempts: 8 });
    const result = await backfill(config);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('request timed out after 200 ms');
    expect(result.stderr).toContain('provider request failed; retrying');
    expect((await storage.barSnapshot(dir)).perSymbol).toEqual({
      AAA: PER_SYMBOL,
      BBB: PER_SYMBOL,
    });
  });
});
