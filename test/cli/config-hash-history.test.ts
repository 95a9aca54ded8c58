/**
 * Runs recorded before config hashes were taken over the masked config hold an unsalted SHA-256
 * of the config with its secrets, against which a password guess can be tested offline. Migration
 * 6 clears them (both stores): the stored value is gone, `mdp status --json` shows null for those
 * runs, and runs recorded afterwards keep their (masked) hash.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_UPSERT_KEYS } from '../../src/store/upsert-keys.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { createEarlierSchema } from '../helpers/earlier-schema.js';
import { schemaForDir } from '../helpers/postgres-test-names.js';
import { useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { writeProviderTestConfig } from '../helpers/provider-test-config.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, useTestStorage, type StorageKind } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const pool = useTestPostgresPool();
const NOW = Date.UTC(2024, 5, 1);
/** What an earlier mdp recorded: sha256 over the config including `api_key: hunter2-polygon`. */
const LEAKED = createHash('sha256')
  .update('{"providers":{"source":{"api_key":"hunter2-polygon","type":"polygon"}}}')
  .digest('hex');

/** Records a finished run as mdp at schema version 5 did, with the leaking hash. */
async function insertEarlierRun(kind: StorageKind, dir: string): Promise<void> {
  if (kind === 'postgres') {
    await pool().query(
      `INSERT INTO "${schemaForDir(dir)}".job_runs (job_name, mode, profile, dry_run, status,
         started_at, heartbeat_at, completed_at, rows_written, batches, host, pid, config_hash,
         params, heartbeat_interval_ms)
       VALUES ('daily', 'backfill', NULL, false, 'success', to_timestamp($1 / 1000.0),
         to_timestamp($1 / 1000.0), to_timestamp($1 / 1000.0), 0, 0, 'old-host', 1, $2, '{}', 5000)`,
      [NOW, LEAKED],
    );
    return;
  }
  const db = new SqliteDatabase(join(dir, 'data', 'test.db'));
  try {
    db.prepare(
      `INSERT INTO job_runs (job_name, mode, profile, dry_run, status, started_at, heartbeat_at,
         completed_at, rows_written, batches, host, pid, config_hash, params, heartbeat_interval_ms)
       VALUES ('daily', 'backfill', NULL, 0, 'success', ?, ?, ?, 0, 0, 'old-host', 1, ?, '{}', 5000)`,
    ).run(NOW, NOW, NOW, LEAKED);
  } finally {
    db.close();
  }
}

/** Every config_hash stored in job_runs, oldest run first. */
async function storedHashes(kind: StorageKind, dir: string): Promise<unknown[]> {
  if (kind === 'postgres') {
    const result = await pool().query<{ config_hash: unknown }>(
      `SELECT config_hash FROM "${schemaForDir(dir)}".job_runs ORDER BY run_id`,
    );
    return result.rows.map((row) => row.config_hash);
  }
  const db = new SqliteDatabase(join(dir, 'data', 'test.db'));
  try {
    return db
      .prepare<[], { config_hash: unknown }>('SELECT config_hash FROM job_runs ORDER BY run_id')
      .all()
      .map((row) => row.config_hash);
  } finally {
    db.close();
  }
}

describe.each(STORAGE_KINDS)('config_hash recorded before the upgrade on %s', (kind) => {
  useTestStorage(kind);

  it('is cleared by the upgrade: status --json shows null, later runs keep theirs', async () => {
    const dir = tempDir();
    await createEarlierSchema(kind, dir, {
      version: 5,
      upsertKeys: DEFAULT_UPSERT_KEYS,
      bars: [],
      now: NOW,
    });
    await insertEarlierRun(kind, dir);
    const config = writeProviderTestConfig(
      dir,
      kind,
      { type: 'synthetic' },
      { daily: { symbols: ['AAA'], interval: '1d', start: '2024-01-01', end: '2024-01-05' } },
    );
    const status = await runCli(['status', '--config', config, '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).not.toContain(LEAKED);
    const before = JSON.parse(status.stdout) as { runs: { config_hash: unknown }[] };
    expect(before.runs.map((run) => run.config_hash)).toEqual([null]);
    expect(await storedHashes(kind, dir)).not.toContain(LEAKED);

    const backfill = await runCli(['backfill', '--config', config, '--job', 'daily']);
    expect(backfill.code, backfill.stderr).toBe(0);
    const after = await runCli(['status', '--config', config, '--json']);
    const { runs } = JSON.parse(after.stdout) as { runs: { config_hash: unknown }[] };
    // Newest first: the run just recorded has its hash, the one from before the upgrade none.
    expect(runs.map((run) => run.config_hash)).toEqual([
      expect.stringMatching(/^[0-9a-f]{64}$/),
      null,
    ]);
  });
});
