/**
 * `mdp run --follow` whose storage fails for good after its first cycle: the SQLite file fills
 * up, PostgreSQL stops granting writes, or the spool holding an unreachable primary's batches is
 * full. None of these heals by itself, so the run must fail at the cycle that meets it (exit 1,
 * the error printed, the run recorded `failure`), not log and retry at every bar close forever.
 *
 * Each waits for the next bar close (up to a minute): the three run side by side.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl, useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { collect, spawnCli, type CliResult } from '../helpers/run-cli.js';
import { testConfig, type TestConfigOptions } from '../helpers/test-config.js';
import { useTestStorage } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

// Not useTempDir: its afterEach would remove the directories of the tests still running beside.
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'mdp-test-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const storage = useTestStorage('sqlite');
const pool = useTestPostgresPool();
const dbPath = (dir: string): string => join(dir, 'data', 'test.db');

/** The next bar close (1m), its settle delay, one cycle's fetch and write, and some slack. */
const NEXT_CYCLE_MS = 60_000 + 15_000;

/**
 * Starts `run --follow` and waits until its first cycle has stored the 2 h lookback of both
 * symbols (119 or 120 bars each, as the minute falls).
 */
async function followPastFirstCycle(
  dir: string,
  options: TestConfigOptions = {},
  storedBars: () => Promise<number> = async () => (await storage.barSnapshot(dir)).count,
  edit: (raw: Record<string, unknown>) => void = () => undefined,
): Promise<{ exited: Promise<CliResult>; output: () => string }> {
  const raw = testConfig(dir, { concurrency: 1, ...options });
  edit(raw);
  const config = join(dir, 'mdp.yaml');
  writeFileSync(config, stringify(raw));
  const child = spawnCli(['run', '--config', config, '--job', 'live_job', '--follow']);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = collect(child, NEXT_CYCLE_MS + 30_000);
  await waitFor('the first cycle stored', async () =>
    (await storedBars()) >= 2 * 119 ? true : undefined,
  );
  return { exited, output: () => stderr };
}

describe.concurrent('mdp run --follow when storage fails for good after the first cycle', () => {
  it(
    'SQLite file full: the next cycle fails the run, exit 1, recorded failure',
    async () => {
      const dir = tempDir();
      const maxBytes = 1024 * 1024;
      const { exited } = await followPastFirstCycle(dir, { maxSize: '1MB' });

      // Fill the file up to the run's own max_size from another connection. The last 100 minutes
      // are deleted first, so the next cycle has more to write than the slack left in its pages.
      const db = new SqliteDatabase(dbPath(dir), { timeout: 5000 });
      try {
        const pageSize = db.pragma('page_size', { simple: true }) as number;
        db.pragma(`max_page_count = ${Math.floor(maxBytes / pageSize)}`);
        const newest = (db.prepare('SELECT max(ts) AS ts FROM bars_ohlcv').get() as { ts: number })
          .ts;
        db.prepare('DELETE FROM bars_ohlcv WHERE ts > ?').run(newest - 100 * 60_000);
        db.exec('CREATE TABLE filler (b BLOB)');
        const insert = db.prepare('INSERT INTO filler VALUES (randomblob(?))');
        for (const size of [pageSize, 64]) {
          try {
            for (;;) insert.run(size);
          } catch (error: unknown) {
            expect((error as { code?: string }).code).toBe('SQLITE_FULL');
          }
        }
      } finally {
        db.close();
      }
      const filledAt = Date.now();

      const result = await exited;
      expect(Date.now() - filledAt).toBeLessThan(NEXT_CYCLE_MS);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(
        /^error \[MDP_STORE_FULL\]: storage sqlite: the disk holding .*test\.db is full, or the file reached storage\.primary\.max_size/m,
      );
      expect(result.stderr).not.toContain('live cycle failed; retrying');
      const [run] = await storage.jobRuns(dir);
      expect(run).toMatchObject({ status: 'failure' });
      expect(run?.error).toContain('storage.primary.max_size');
    },
    NEXT_CYCLE_MS + 60_000,
  );

  it(
    'PostgreSQL write privilege revoked: the next cycle fails the run, exit 1, recorded failure',
    async () => {
      const dir = tempDir();
      // A role of the test's own, owning the test's schema: the server's superuser cannot be
      // refused anything. The schema's name is outside the test prefix, which the end of every
      // test run on the shared server sweeps, another helper's included: this test runs a minute.
      const role = uniqueTestName();
      const schema = `mdp_follow_${role.slice(-16)}`;
      const runRows = async () =>
        (
          await pool().query<{ status: string; error: string | null }>(
            `SELECT status, error FROM ${schema}.job_runs ORDER BY run_id`,
          )
        ).rows;
      // A password: the suite's embedded server authenticates with scram-sha-256.
      const password = randomBytes(12).toString('hex');
      await pool().query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      try {
        await pool().query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`);
        const url = new URL(testPostgresUrl());
        url.username = role;
        url.password = password;
        const { exited } = await followPastFirstCycle(
          dir,
          {
            storage: 'postgres',
            postgresUrl: url.toString(),
            spool: { path: join(dir, 'spool.db') },
          },
          async () =>
            (await pool().query<{ n: number }>(`SELECT count(*) AS n FROM ${schema}.bars_ohlcv`))
              .rows[0]?.n ?? 0,
          (raw) => {
            (raw.storage as { primary: { schema: string } }).primary.schema = schema;
          },
        );
        // What an operator tightening grants does; reads and the run's own rows stay allowed.
        await pool().query(`REVOKE INSERT, UPDATE ON ${schema}.bars_ohlcv FROM ${role}`);
        const revokedAt = Date.now();

        const result = await exited;
        expect(Date.now() - revokedAt).toBeLessThan(NEXT_CYCLE_MS);
        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).toMatch(
          new RegExp(
            `^error \\[MDP_STORE_PERMISSION\\]: storage postgres: user "${role}" lacks a privilege`,
            'm',
          ),
        );
        expect(result.stderr).not.toContain('live cycle failed; retrying');
        const [run] = await runRows();
        expect(run).toMatchObject({ status: 'failure' });
        expect(run?.error).toContain('permission denied');
      } finally {
        await pool().query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await pool().query(`DROP ROLE IF EXISTS ${role}`);
      }
    },
    NEXT_CYCLE_MS + 60_000,
  );

  it(
    'spool full while another process holds the write lock: the run fails, exit 1, recorded failure',
    async () => {
      const dir = tempDir();
      const spoolPath = join(dir, 'spool.db');
      const { exited, output } = await followPastFirstCycle(dir, {
        // One attempt: each waits out the 5 s busy timeout.
        storageRetry: { max_attempts: 1, backoff_seconds: 0.01 },
        spool: { path: spoolPath, max_bars: 1 },
        logLevel: 'info',
      });
      // A write transaction held open: reads go on (WAL), writes wait and fail as busy.
      const holder = new SqliteDatabase(dbPath(dir));
      holder.exec('BEGIN IMMEDIATE');
      const lockedAt = Date.now();
      let result: CliResult;
      try {
        // AAA's bar fills the spool, BBB's does not fit. Let go then, so the failure is recorded.
        await waitFor(
          'the spool refusing a batch',
          () => (output().includes('the spool refused the batch') ? true : undefined),
          NEXT_CYCLE_MS + 15_000,
        );
        holder.exec('COMMIT');
        result = await exited;
      } finally {
        if (holder.inTransaction) holder.exec('COMMIT');
        holder.close();
      }
      expect(Date.now() - lockedAt).toBeLessThan(NEXT_CYCLE_MS + 15_000);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(
        /^error \[MDP_STORE_SPOOL_FULL\]: storage spool: .*spool\.db already holds 1 bars/m,
      );
      expect(result.stderr).not.toContain('live cycle failed; retrying');
      const [run] = await storage.jobRuns(dir);
      expect(run).toMatchObject({ status: 'failure' });
      expect(run?.error).toContain('storage.spool.max_bars');
    },
    NEXT_CYCLE_MS + 60_000,
  );
});
