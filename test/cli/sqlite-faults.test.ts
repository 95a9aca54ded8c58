/**
 * The SQLite file itself failing under `mdp backfill`: full, read-only, corrupt. Each is a clear
 * error naming the file, exit 1, and nothing half-written.
 *
 * A full disk is produced with `storage.primary.max_size` (SQLite's max_page_count), which fails a
 * write with the same SQLITE_FULL a full volume gives, without the privileges a tiny mounted
 * file system would need.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { barsInWindow } from '../../src/pipeline/runner/backfill-plan.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig } from '../helpers/test-config.js';
import { useTestStorage } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const storage = useTestStorage('sqlite');
const PER_SYMBOL = barsInWindow(
  Date.parse('2024-01-01T00:00:00Z'),
  Date.parse('2024-01-03T00:00:00Z'),
  '1m',
);
const TOTAL = 2 * PER_SYMBOL;
const dbPath = (dir: string): string => join(dir, 'data', 'test.db');
const backfill = (config: string, options: Parameters<typeof runCli>[1] = {}) =>
  runCli(['backfill', '--config', config, '--job', 'backfill_job'], options);

function integrityCheck(dir: string): string {
  const db = new SqliteDatabase(dbPath(dir), { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

describe('mdp backfill when the SQLite file fails', () => {
  it('full: the batch that does not fit is rolled back whole, exit 1; room again, the rerun completes', async () => {
    const dir = tempDir();
    // One batch per chunk (batch_size ≥ chunk), so "only whole batches" means "only whole chunks".
    const options = { maxBarsPerRequest: 300, batchSize: 500, concurrency: 1 };
    const config = writeTestConfig(dir, { ...options, maxSize: '200KB' });

    const full = await backfill(config);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(
      /^error \[MDP_STORE_FULL\]: storage sqlite: the disk holding .*test\.db is full, or the file reached storage\.primary\.max_size/m,
    );
    expect(full.stderr).toContain('rolled back');
    expect(integrityCheck(dir)).toBe('ok');
    const stored = (await storage.barSnapshot(dir)).count;
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(TOTAL);
    expect(stored).toBe(await storage.checkpointedRows(dir));

    writeTestConfig(dir, options);
    const rerun = await backfill(config);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain(
      `success: ${(TOTAL - stored).toLocaleString('en-US')} rows written`,
    );
    expect((await storage.barSnapshot(dir)).perSymbol).toEqual({
      AAA: PER_SYMBOL,
      BBB: PER_SYMBOL,
    });
  });

  it('read-only: exit 1 naming the file, and nothing written, not even a run', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, { end: '2024-01-01T06:00:00Z' });
    expect((await backfill(config)).code).toBe(0);
    const before = await storage.barSnapshot(dir);
    const runs = await storage.jobRuns(dir);
    writeTestConfig(dir, { end: '2024-01-02T00:00:00Z' });

    // Root ignores file modes, so as root the run goes as `nobody`, for whom the file is read-only.
    const asRoot = process.getuid?.() === 0;
    const user = asRoot ? { uid: 65534, gid: 65534 } : undefined;
    chmodSync(dir, 0o755);
    chmodSync(dbPath(dir), 0o444);
    if (user) chownSync(join(dir, 'data'), user.uid, user.gid);
    let result;
    try {
      result = await backfill(config, { user });
    } finally {
      chmodSync(dbPath(dir), 0o644);
    }
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error \[MDP_STORE_READONLY\]: storage sqlite: .*test\.db is read-only/m,
    );
    expect(await storage.barSnapshot(dir)).toEqual(before);
    expect(await storage.jobRuns(dir)).toEqual(runs);
  });

  it('corrupt: a file that is not a database, or one whose pages are garbage, exit 1 untouched', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir);
    mkdirSync(join(dir, 'data'));
    writeFileSync(dbPath(dir), 'not a database '.repeat(500));
    const garbage = readFileSync(dbPath(dir));
    const notADb = await backfill(config);
    expect(notADb.code).toBe(1);
    expect(notADb.stderr).toMatch(
      /^error \[MDP_STORE_CORRUPT\]: storage sqlite: .*test\.db is not a usable SQLite database/m,
    );
    expect(notADb.stderr).toContain('.recover');
    expect(readFileSync(dbPath(dir))).toEqual(garbage);

    // A real database whose pages after the first were overwritten: the header still reads.
    const other = tempDir();
    const otherConfig = writeTestConfig(other, { end: '2024-01-01T06:00:00Z' });
    expect((await backfill(otherConfig)).code).toBe(0);
    const bytes = readFileSync(dbPath(other));
    const pageSize = bytes.readUInt16BE(16);
    for (let i = pageSize; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    writeFileSync(dbPath(other), bytes);
    const malformed = await backfill(otherConfig);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/^error \[MDP_STORE_CORRUPT\]: /m);
    expect(readFileSync(dbPath(other))).toEqual(bytes);
    const status = await runCli(['status', '--config', otherConfig]);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/^error \[MDP_STORE_CORRUPT\]: /m);
  });

  it('busy: another process holds the write lock past the busy timeout at start; the run waits for it and completes', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir);
    // A first run creates the file and its tables.
    expect((await backfill(config, { timeoutMs: 60_000 })).code).toBe(0);
    const holder = new SqliteDatabase(dbPath(dir));
    holder.exec('BEGIN IMMEDIATE');
    // Held for 8 s, past the 5 s busy timeout of every statement mdp runs.
    const release = setTimeout(() => holder.exec('COMMIT'), 8_000);
    try {
      const started = Date.now();
      const rerun = await backfill(config, { timeoutMs: 60_000 });
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(7_500);
      expect(rerun.stderr).toMatch(
        /could not record the start of the run .*retrying|database is busy\); waiting up to/,
      );
    } finally {
      clearTimeout(release);
      if (holder.inTransaction) holder.exec('COMMIT');
      holder.close();
    }
    const runs = await storage.jobRuns(dir);
    expect(runs.map((run) => run.status)).toEqual(['success', 'success']);
    expect(integrityCheck(dir)).toBe('ok');
  }, 90_000);

  it('busy at open: a new file locked by another process while mdp would create its tables; the open waits and the run completes', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir);
    mkdirSync(join(dir, 'data'), { recursive: true });
    const holder = new SqliteDatabase(dbPath(dir));
    holder.exec('BEGIN IMMEDIATE');
    const release = setTimeout(() => holder.exec('COMMIT'), 7_000);
    try {
      const run = await backfill(config, { timeoutMs: 60_000 });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(
        'is locked by another connection (database is busy); waiting up to 20 s',
      );
    } finally {
      clearTimeout(release);
      if (holder.inTransaction) holder.exec('COMMIT');
      holder.close();
    }
    expect((await storage.barSnapshot(dir)).count).toBe(TOTAL);
    expect(integrityCheck(dir)).toBe('ok');
  }, 90_000);
});
