import type BetterSqlite3 from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteDatabase as Database } from '../../src/store/sqlite/sqlite-driver.js';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/sqlite-migrations.js';
import { sqliteStoreError } from '../../src/store/sqlite/sqlite-store-error.js';
import {
  SqliteStore,
  sqlitePathFromUri,
  type SqliteStoreOptions,
} from '../../src/store/sqlite/sqlite-store.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { describeStoreConformance, failure, makeBar } from './store-conformance.js';

const tempDir = useTempDir();
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/sqlite-store-child.ts', import.meta.url));

describeStoreConformance(
  'sqlite',
  (options) => new SqliteStore({ path: join(tempDir(), 'conformance.db'), ...options }),
);

/** Stores opened by a test, closed after it even when it fails. */
const opened: SqliteStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

async function openStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  const store = new SqliteStore(options);
  opened.push(store);
  await store.open();
  return store;
}

/** A second, independent connection to look at what the store really wrote. */
function inspect<T>(path: string, look: (db: BetterSqlite3.Database) => T): T {
  const db = new Database(path);
  try {
    return look(db);
  } finally {
    db.close();
  }
}

interface ChildOutcome {
  readonly opened: boolean;
  readonly rowsWritten?: number;
  readonly code?: string;
  readonly message?: string;
}

/** Runs test/store/fixtures/sqlite-store-child.ts in its own process, optionally as another user. */
function runChild(args: string[], user?: { uid: number; gid: number }): Promise<ChildOutcome> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...user,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(stdout.trim()) as ChildOutcome);
      } catch {
        reject(new Error(`child exited ${code}: ${stdout}\n${stderr}`));
      }
    });
  });
}

describe('sqlitePathFromUri', () => {
  it('strips the scheme that config loading leaves in front of the absolute path', () => {
    expect(sqlitePathFromUri('sqlite:/var/lib/mdp/bars.db')).toBe('/var/lib/mdp/bars.db');
    expect(sqlitePathFromUri('sqlite:///var/lib/mdp/bars.db')).toBe('/var/lib/mdp/bars.db');
    expect(sqlitePathFromUri('sqlite::memory:')).toBe(':memory:');
  });

  it('refuses a uri without a path', () => {
    expect(() => sqlitePathFromUri('sqlite:')).toThrow(/names no file/);
  });
});

describe('SqliteStore', () => {
  it('reports kind and target, and creates missing parent directories', async () => {
    const path = join(tempDir(), 'deep', 'er', 'bars.db');
    const store = await openStore({ path });
    expect(store.kind).toBe('sqlite');
    expect(store.target).toBe(path);
    await store.writeBatch({ runId: 1, bars: [makeBar(0)] });
    expect(inspect(path, (db) => db.prepare('SELECT COUNT(*) AS n FROM bars_ohlcv').get())).toEqual(
      { n: 1 },
    );
  });

  it('runs in WAL mode', async () => {
    const path = join(tempDir(), 'wal.db');
    await openStore({ path });
    expect(inspect(path, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
  });

  it('works in memory', async () => {
    const store = await openStore({ path: ':memory:' });
    await store.writeBatch({ runId: 1, bars: [makeBar(0), makeBar(1)] });
    expect(await store.countBars()).toBe(2);
  });

  describe('migrations', () => {
    it('records each migration once; reopening applies nothing', async () => {
      const path = join(tempDir(), 'migrations.db');
      let now = 1_000;
      const clock = (): number => now;
      const first = await openStore({ path, clock });
      await first.close();
      now = 2_000;
      await openStore({ path, clock });
      const rows = inspect(path, (db) =>
        db.prepare('SELECT id, name, applied_at FROM mdp_migrations ORDER BY id').all(),
      );
      expect(rows).toEqual(
        SQLITE_MIGRATIONS.map((m) => ({ id: m.id, name: m.name, applied_at: 1_000 })),
      );
      const tables = inspect(path, (db) =>
        db
          .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
          .pluck()
          .all(),
      );
      expect(tables).toEqual(
        expect.arrayContaining([
          'bars_ohlcv',
          'bars_rejected',
          'job_checkpoints',
          'job_runs',
          'mdp_meta',
          'mdp_migrations',
        ]),
      );
      const withoutRowid = inspect(path, (db) =>
        db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'bars_ohlcv'").pluck().get(),
      );
      expect(withoutRowid).toMatch(/PRIMARY KEY \(provider, symbol, interval, ts\)/);
      expect(withoutRowid).toMatch(/WITHOUT ROWID/);
    });

    it('refuses a database migrated by a newer mdp', async () => {
      const path = join(tempDir(), 'newer.db');
      await (await openStore({ path })).close();
      inspect(path, (db) =>
        db.prepare("INSERT INTO mdp_migrations VALUES (999, 'from the future', 0)").run(),
      );
      const error = await failure(new SqliteStore({ path }).open());
      expect(error.code).toBe('MDP_STORE_SCHEMA_NEWER');
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/schema version 999/);
    });

    it('applies once when several processes open the same new file at once', async () => {
      const path = join(tempDir(), 'race.db');
      const outcomes = await Promise.all(
        ['A', 'B', 'C', 'D'].map((symbol) => runChild([path, '50', symbol])),
      );
      expect(outcomes).toEqual(Array(4).fill({ opened: true, rowsWritten: 50 }));
      expect(
        inspect(path, (db) => db.prepare('SELECT COUNT(*) AS n FROM mdp_migrations').get()),
      ).toEqual({ n: SQLITE_MIGRATIONS.length });
      const store = await openStore({ path });
      expect(await store.countBars()).toBe(200);
    });
  });

  describe('upsert keys', () => {
    it('refuses to open a file created with other keys, saying how to fix it', async () => {
      const path = join(tempDir(), 'keys.db');
      await (await openStore({ path })).close();
      const error = await failure(
        new SqliteStore({ path, upsertKeys: ['provider', 'symbol', 'ts'] }).open(),
      );
      expect(error.code).toBe('MDP_STORE_SCHEMA_MISMATCH');
      expect(error.message).toContain(path);
      expect(error.message).toContain('[provider, symbol, interval, ts]');
      expect(error.message).toContain('[provider, symbol, ts]');
      expect(error.message).toContain('storage.primary.write.upsert_keys');
    });

    it('accepts the same keys in another order', async () => {
      const path = join(tempDir(), 'keys-order.db');
      await (await openStore({ path })).close();
      const store = await openStore({ path, upsertKeys: ['ts', 'interval', 'symbol', 'provider'] });
      await store.writeBatch({ runId: 1, bars: [makeBar(0)] });
      await store.writeBatch({ runId: 1, bars: [makeBar(0, {}, 5)] });
      expect(await store.countBars()).toBe(1);
    });

    it('adds a series index when the keys do not start with the series', async () => {
      const path = join(tempDir(), 'keys-index.db');
      await openStore({ path, upsertKeys: ['ts', 'provider', 'symbol', 'interval'] });
      const indexes = inspect(path, (db) =>
        db
          .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'bars_ohlcv'",
          )
          .pluck()
          .all(),
      );
      expect(indexes).toContain('bars_ohlcv_series');
    });

    it('refuses nullable or repeated key columns up front', () => {
      expect(() => new SqliteStore({ path: ':memory:', upsertKeys: ['ts', 'vwap'] })).toThrow(
        /may be null/,
      );
      expect(() => new SqliteStore({ path: ':memory:', upsertKeys: ['ts', 'ts'] })).toThrow(
        /repeat a column/,
      );
    });
  });

  describe('writes', () => {
    it('refreshes ingested_at and run_id when a bar is written again', async () => {
      const path = join(tempDir(), 'ingested.db');
      let now = 1_000;
      const store = await openStore({ path, clock: () => now });
      await store.writeBatch({ runId: 1, bars: [makeBar(0), makeBar(1)] });
      now = 9_000;
      await store.writeBatch({ runId: 2, bars: [makeBar(1)] });
      const rows = inspect(path, (db) =>
        db.prepare('SELECT ts, run_id, ingested_at FROM bars_ohlcv ORDER BY ts').all(),
      );
      expect(rows).toEqual([
        { ts: makeBar(0).ts, run_id: 1, ingested_at: 1_000 },
        { ts: makeBar(1).ts, run_id: 2, ingested_at: 9_000 },
      ]);
    });

    it('keeps nothing of a batch whose bar fails a NOT NULL column after whole chunks went in', async () => {
      const path = join(tempDir(), 'atomic-bar.db');
      const store = await openStore({ path });
      const bars = Array.from({ length: 1000 }, (_, i) => makeBar(i));
      // better-sqlite3 binds NaN as NULL, which the NOT NULL open column refuses.
      bars[950] = makeBar(950, { open: Number.NaN });
      const error = await failure(
        store.writeBatch({
          runId: 1,
          bars,
          rejected: [
            {
              provider: 'p1',
              symbol: 'AAA',
              interval: '1m',
              ts: 0,
              reason: 'nan',
              raw: '{}',
            },
          ],
        }),
      );
      expect(error.code).toBe('MDP_STORE_WRITE');
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/NOT NULL constraint failed: bars_ohlcv\.open/);
      expect(error.cause).toBeInstanceOf(Error);
      expect(await store.countBars()).toBe(0);
      expect(await store.countRejected()).toBe(0);
    });

    it('refuses a fractional ts instead of storing it', async () => {
      const store = await openStore({ path: join(tempDir(), 'strict.db') });
      const error = await failure(
        store.writeBatch({ runId: 1, bars: [makeBar(0), makeBar(1, { ts: 1.5 })] }),
      );
      expect(error.code).toBe('MDP_STORE_WRITE');
      expect(await store.countBars()).toBe(0);
    });
  });

  describe('two stores on one file', () => {
    it('see each other’s writes and share the run lock', async () => {
      const path = join(tempDir(), 'shared.db');
      const a = await openStore({ path });
      const b = await openStore({ path });
      await a.writeBatch({ runId: 1, bars: [makeBar(0)] });
      await b.writeBatch({ runId: 2, bars: [makeBar(1)] });
      expect(await a.countBars()).toBe(2);
      expect(await b.lastBarTs('p1', 'AAA', '1m')).toBe(makeBar(1).ts);

      const start = {
        jobName: 'shared_job',
        mode: 'live',
        profile: null,
        dryRun: false,
        host: 'elsewhere',
        pid: 1,
        configHash: 'h',
        params: {},
        heartbeatIntervalMs: 30_000,
      } as const;
      const run = await a.startRun(start);
      await expect(b.startRun(start)).rejects.toThrow(`run ${run.runId}`);
      expect((await b.listRuns()).map((r) => r.runId)).toEqual([run.runId]);
    });
  });

  describe('errors', () => {
    it('reports a file that is not a database as MDP_STORE_CORRUPT', async () => {
      const path = join(tempDir(), 'corrupt.db');
      writeFileSync(path, 'this is not a database '.repeat(200));
      const error = await failure(new SqliteStore({ path }).open());
      expect(error.code).toBe('MDP_STORE_CORRUPT');
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/file is not a database/);
      expect(error.message).toMatch(/move this one aside/);
      expect((error.cause as { code?: string }).code).toBe('SQLITE_NOTADB');
    });

    it('reports a path it cannot create as MDP_STORE_OPEN', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'a-file'), '');
      const underFile = await failure(
        new SqliteStore({ path: join(dir, 'a-file', 'x.db') }).open(),
      );
      expect(underFile.code).toBe('MDP_STORE_OPEN');
      expect(underFile.message).toContain(join(dir, 'a-file', 'x.db'));

      mkdirSync(join(dir, 'a-dir'));
      const isDir = await failure(new SqliteStore({ path: join(dir, 'a-dir') }).open());
      expect(isDir.code).toBe('MDP_STORE_OPEN');
      expect(isDir.message).toMatch(/cannot open/);
    });

    describe('read-only files', () => {
      // Root ignores file modes, so as root the attempt runs as `nobody` in a child process.
      const asRoot = process.getuid?.() === 0;
      const user = asRoot ? { uid: 65534, gid: 65534 } : undefined;

      /** A database with 5 bars of AAA, then made read-only; `dirWritable` for the writer. */
      async function readOnlyDb(dirWritable: boolean): Promise<{ dir: string; path: string }> {
        const dir = tempDir();
        const path = join(dir, 'ro.db');
        const store = await openStore({ path });
        await store.writeBatch({ runId: 1, bars: [0, 1, 2, 3, 4].map((i) => makeBar(i)) });
        await store.close();
        chmodSync(path, 0o444);
        chmodSync(dir, dirWritable ? 0o755 : 0o555);
        if (user && dirWritable) chownSync(dir, user.uid, user.gid);
        return { dir, path };
      }

      it('fails the write with MDP_STORE_READONLY and keeps none of the batch', async () => {
        const { dir, path } = await readOnlyDb(true);
        try {
          const outcome = await runChild([path, '20', 'NEW'], user);
          expect(outcome).toMatchObject({ opened: true, code: 'MDP_STORE_READONLY' });
          expect(outcome.message).toContain(path);
          expect(outcome.message).toMatch(/writable/);
        } finally {
          chmodSync(dir, 0o755);
          chmodSync(path, 0o644);
        }
        const store = await openStore({ path });
        expect(await store.countBars()).toBe(5);
        expect(await store.countBars({ symbol: 'NEW' })).toBe(0);
      });

      it('fails to open with MDP_STORE_READONLY when the directory is read-only too', async () => {
        const { dir, path } = await readOnlyDb(false);
        try {
          const outcome = await runChild([path, '20', 'NEW'], user);
          expect(outcome).toMatchObject({ opened: false, code: 'MDP_STORE_READONLY' });
          expect(outcome.message).toContain(path);
        } finally {
          chmodSync(dir, 0o755);
          chmodSync(path, 0o644);
        }
        const store = await openStore({ path });
        expect(await store.countBars()).toBe(5);
      });
    });

    it('classifies a full database as MDP_STORE_FULL', () => {
      // A real SQLITE_FULL from a real database capped at a few pages; a full disk raises the same.
      const db = new Database(':memory:');
      try {
        db.exec('CREATE TABLE t (x TEXT)');
        db.pragma('max_page_count = 3');
        let thrown: unknown;
        try {
          const insert = db.prepare('INSERT INTO t VALUES (?)');
          for (let i = 0; i < 100; i++) insert.run('x'.repeat(4000));
        } catch (error: unknown) {
          thrown = error;
        }
        expect((thrown as { code?: string }).code).toBe('SQLITE_FULL');
        const error = sqliteStoreError(thrown, '/data/bars.db', 'write');
        expect(error).toBeInstanceOf(StoreError);
        expect(error.code).toBe('MDP_STORE_FULL');
        expect(error.message).toMatch(/disk holding \/data\/bars\.db is full/);
        expect(error.cause).toBe(thrown);
      } finally {
        db.close();
      }
    });
  });
});
