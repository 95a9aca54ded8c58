/**
 * Migrations on a PostgreSQL schema other sessions are using. Migration 3 is `ALTER TABLE
 * bars_ohlcv ALTER COLUMN volume DROP NOT NULL`, which needs ACCESS EXCLUSIVE: behind an open
 * transaction that has read bars_ohlcv (a dashboard, a psql session) it used to wait silently, and
 * every later reader of the table queued behind it. Now each try waits at most a second, lets the
 * queue through, says what it waits for, and the open fails once storage.primary.lock_timeout has
 * passed, naming the table, the session and how to find it. The advisory lock that serialises
 * migrations between mdp processes is bounded the same way (statement_timeout).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Bar } from '../../src/core/bar.js';
import { migrationLockKey } from '../../src/store/postgres/postgres-migrate.js';
import { DEFAULT_UPSERT_KEYS } from '../../src/store/upsert-keys.js';
import { createEarlierSchema } from '../helpers/earlier-schema.js';
import { schemaForDir } from '../helpers/postgres-test-names.js';
import { useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { writeProviderTestConfig } from '../helpers/provider-test-config.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { useTestStorage } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const pool = useTestPostgresPool();
const NOW = Date.UTC(2024, 5, 1);
const BAR: Bar = {
  provider: 'source',
  symbol: 'AAA',
  interval: '1m',
  ts: NOW,
  open: 1,
  high: 2,
  low: 0.5,
  close: 1.5,
  volume: 100,
  vwap: null,
  tradeCount: null,
};

/** A schema at version 2 (volume NOT NULL) and a config with short lock and statement limits. */
async function earlierSchemaAndConfig(dir: string): Promise<string> {
  await createEarlierSchema('postgres', dir, {
    version: 2,
    upsertKeys: DEFAULT_UPSERT_KEYS,
    bars: [BAR],
    now: NOW,
  });
  const file = writeProviderTestConfig(
    dir,
    'postgres',
    { type: 'synthetic' },
    { daily: { symbols: ['AAA'], interval: '1d', start: '2024-01-01', end: '2024-01-05' } },
  );
  const config = parse(readFileSync(file, 'utf8')) as {
    storage: { primary: Record<string, unknown> };
  };
  config.storage.primary.lock_timeout = '4s';
  config.storage.primary.statement_timeout = '3s';
  writeFileSync(file, stringify(config));
  return file;
}

async function volumeNullable(schema: string): Promise<boolean> {
  const result = await pool().query<{ is_nullable: string }>(
    `SELECT is_nullable FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = 'bars_ohlcv' AND column_name = 'volume'`,
    [schema],
  );
  return result.rows[0]?.is_nullable === 'YES';
}

/** Another session (application bi-dashboard) with a transaction begun, and its pid. */
async function openTransaction(): Promise<{ holder: pg.PoolClient; holderPid: number }> {
  const holder = await pool().connect();
  await holder.query("SET application_name = 'bi-dashboard'");
  const pid = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await holder.query('BEGIN');
  return { holder, holderPid: pid.rows[0]?.pid as number };
}

/** Resolves once a session (mdp's migration) waits for a lock on the schema's bars_ohlcv. */
async function migrationWaiting(schema: string): Promise<void> {
  await waitFor('mdp to wait for its lock on bars_ohlcv', async () => {
    const waiting = await pool().query(
      'SELECT 1 FROM pg_locks WHERE NOT granted AND relation = $1::regclass',
      [`"${schema}".bars_ohlcv`],
    );
    return waiting.rowCount === 0 ? undefined : true;
  });
}

describe('migrations on a postgres schema another session holds', () => {
  useTestStorage('postgres');

  it(
    'a table lock: readers are not held behind the migration, the open fails naming the table and the session after lock_timeout, and the next open migrates',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir();
      const config = await earlierSchemaAndConfig(dir);
      const schema = schemaForDir(dir);
      // A reader that began before the upgrade and has not committed yet (a BI session).
      const { holder, holderPid } = await openTransaction();
      try {
        await holder.query(`SELECT count(*) FROM "${schema}".bars_ohlcv`);

        const started = performance.now();
        const status = runCli(['status', '--config', config], { timeoutMs: 30_000 });
        await migrationWaiting(schema);
        // Another reader, arriving while mdp tries for its lock.
        const reader = await pool().connect();
        let readerMs: number;
        try {
          await reader.query("SET statement_timeout = '8s'");
          const readStarted = performance.now();
          await reader.query(`SELECT count(*) FROM "${schema}".bars_ohlcv`);
          readerMs = performance.now() - readStarted;
        } finally {
          reader.release();
        }
        const result = await status;
        const tookMs = performance.now() - started;
        expect(readerMs, 'a plain reader waited behind the migration').toBeLessThan(2_000);
        expect(result.code, result.stderr).toBe(1);
        // Within lock_timeout (4 s) and a try, plus the process's start.
        expect(tookMs).toBeLessThan(12_000);
        // Said while waiting, then in the error.
        expect(result.stderr).toContain(
          `upgrading schema ${schema} to version 3 (volume may be unknown) waits for a lock`,
        );
        expect(result.stderr).toContain('MDP_STORE_BUSY');
        expect(result.stderr).toContain(
          `cannot upgrade schema ${schema} to version 3 (volume may be unknown): another session ` +
            `holds a lock on bars_ohlcv (AccessShareLock by pid ${holderPid}, idle in transaction`,
        );
        expect(result.stderr).toContain('application bi-dashboard');
        expect(result.stderr).toContain('storage.primary.lock_timeout (4s)');
        expect(result.stderr).toContain('pg_stat_activity');
        expect(await volumeNullable(schema)).toBe(false);
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
        holder.release();
      }
      const after = await runCli(['status', '--config', config]);
      expect(after.code, after.stderr).toBe(0);
      expect(after.stderr).not.toContain('waits for a lock');
      expect(await volumeNullable(schema)).toBe(true);
    },
  );

  it(
    'a table lock released while mdp tries again: the upgrade goes through after its warning',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir();
      const config = await earlierSchemaAndConfig(dir);
      const schema = schemaForDir(dir);
      const { holder } = await openTransaction();
      try {
        await holder.query(`SELECT count(*) FROM "${schema}".bars_ohlcv`);
        const status = runCli(['status', '--config', config], { timeoutMs: 30_000 });
        // Released once mdp has waited past its first try (1 s), however slowly the child started.
        await migrationWaiting(schema);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await holder.query('ROLLBACK');
        const result = await status;
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr).toContain(
          `upgrading schema ${schema} to version 3 (volume may be unknown) waits for a lock`,
        );
        expect(await volumeNullable(schema)).toBe(true);
      } finally {
        holder.release();
      }
    },
  );

  it(
    'the migration lock held by another session: the wait is said, bounded by statement_timeout, and names the holder',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir();
      const config = await earlierSchemaAndConfig(dir);
      const schema = schemaForDir(dir);
      const { holder, holderPid } = await openTransaction();
      try {
        await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          migrationLockKey(schema),
        ]);
        const started = performance.now();
        const result = await runCli(['status', '--config', config], { timeoutMs: 30_000 });
        expect(result.code, result.stderr).toBe(1);
        expect(performance.now() - started).toBeLessThan(12_000);
        expect(result.stderr).toContain(
          `schema ${schema} is being upgraded by pid ${holderPid}, idle in transaction`,
        );
        expect(result.stderr).toContain('waiting up to 3s (storage.primary.statement_timeout)');
        expect(result.stderr).toContain(
          `schema ${schema} was still being upgraded by pid ${holderPid}`,
        );
        expect(result.stderr).toContain('pg_terminate_backend');
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
        holder.release();
      }
      const after = await runCli(['status', '--config', config]);
      expect(after.code, after.stderr).toBe(0);
      expect(await volumeNullable(schema)).toBe(true);
    },
  );
});
