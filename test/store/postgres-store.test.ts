import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { JobLockedError, type StoreError } from '../../src/core/errors.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/postgres-migrations.js';
import {
  PostgresStore,
  type PostgresStoreOptions,
} from '../../src/store/postgres/postgres-store.js';
import { postgresStoreError } from '../../src/store/postgres/postgres-store-error.js';
import type { RunStart } from '../../src/store/store.js';
import { freePort } from '../helpers/free-port.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl, useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { describeStoreConformance, failure, makeBar } from './store-conformance.js';

const url = testPostgresUrl();
const db = useTestPostgresPool();

describeStoreConformance(
  'postgres',
  // The suite moves time: its clock stands in for the database's, which judges heartbeats.
  (options) =>
    new PostgresStore({
      uri: url,
      schema: uniqueTestName(),
      ...options,
      databaseClock: options.clock,
    }),
);

/** Stores opened by a test, closed after it even when it fails. */
const opened: PostgresStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

function newStore(options: Partial<PostgresStoreOptions> = {}): PostgresStore {
  const store = new PostgresStore({ uri: url, schema: uniqueTestName(), ...options });
  opened.push(store);
  return store;
}

async function openStore(options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
  const store = newStore(options);
  await store.open();
  return store;
}

/** `url` with one part replaced, e.g. the password or the database. */
function urlWith(change: (parsed: URL) => void): string {
  const parsed = new URL(url);
  change(parsed);
  return parsed.toString();
}

const PASSWORD = new URL(url).password;

function runStart(overrides: Partial<RunStart> = {}): RunStart {
  return {
    jobName: 'pg_job',
    mode: 'backfill',
    profile: null,
    dryRun: false,
    host: 'elsewhere',
    pid: 1,
    configHash: 'h',
    params: {},
    heartbeatIntervalMs: 30_000,
    ...overrides,
  };
}

describe('PostgresStore', () => {
  it('reports kind and a target without the password, and keeps its tables in its schema', async () => {
    const store = await openStore();
    expect(store.kind).toBe('postgres');
    expect(store.target).toContain(`(schema ${store.schemaName})`);
    expect(store.target).not.toContain(PASSWORD);
    expect(store.target).toContain(':***@');
    const tables = await db().query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1
       ORDER BY table_name`,
      [store.schemaName],
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual([
      'bars_ohlcv',
      'bars_rejected',
      'job_checkpoints',
      'job_runs',
      'mdp_meta',
      'mdp_migrations',
      'provider_budgets',
      'schedule_claimants',
      'schedule_ticks',
    ]);
  });

  it('types the columns as DESIGN.md says: ts and ingested_at timestamptz, prices double', async () => {
    const store = await openStore();
    const columns = await db().query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'bars_ohlcv' ORDER BY ordinal_position`,
      [store.schemaName],
    );
    expect(Object.fromEntries(columns.rows.map((c) => [c.column_name, c.data_type]))).toEqual({
      provider: 'text',
      symbol: 'text',
      interval: 'text',
      ts: 'timestamp with time zone',
      open: 'double precision',
      high: 'double precision',
      low: 'double precision',
      close: 'double precision',
      volume: 'double precision',
      vwap: 'double precision',
      trade_count: 'bigint',
      run_id: 'bigint',
      ingested_at: 'timestamp with time zone',
    });
    const key = await db().query<{ definition: string }>(
      `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
       WHERE conrelid = $1::regclass AND contype = 'p'`,
      [`"${store.schemaName}".bars_ohlcv`],
    );
    expect(key.rows[0]?.definition).toBe('PRIMARY KEY (provider, symbol, "interval", ts)');
  });

  it('stores ts and ingested_at as the exact instants, whatever the session time zone', async () => {
    const store = await openStore({ clock: () => Date.UTC(2024, 5, 1, 12, 0, 0, 789) });
    const ts = Date.UTC(2024, 0, 2, 9, 30, 0, 0) + 123;
    await store.writeBatch({ runId: 4, bars: [makeBar(0, { ts })] });
    const client = await db().connect();
    try {
      await client.query("SET TIME ZONE 'Pacific/Chatham'");
      const row = await client.query<{ ts: string; ingested: string; run_id: number }>(
        `SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS ts,
           to_char(ingested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS ingested,
           run_id
         FROM "${store.schemaName}".bars_ohlcv`,
      );
      expect(row.rows).toEqual([
        { ts: '2024-01-02T09:30:00.123', ingested: '2024-06-01T12:00:00.789', run_id: 4 },
      ]);
    } finally {
      client.release();
    }
    expect(await store.lastBarTs('p1', 'AAA', '1m')).toBe(ts);
  });

  it('refuses a schema name that is not a plain identifier, before connecting', () => {
    for (const schema of ['Bars', 'bars-2024', 'x"; DROP TABLE y; --', '', '1st']) {
      expect(() => new PostgresStore({ uri: url, schema })).toThrow(
        expect.objectContaining({ code: 'MDP_STORE_CONFIG' }),
      );
    }
  });

  describe('migrations', () => {
    it('records each migration once; reopening applies nothing', async () => {
      const schema = uniqueTestName();
      let now = Date.UTC(2024, 0, 1);
      await (await openStore({ schema, clock: () => now })).close();
      now += 60_000;
      await openStore({ schema, clock: () => now });
      const rows = await db().query(
        `SELECT id, name, (extract(epoch from applied_at) * 1000)::float8 AS applied_ms
         FROM "${schema}".mdp_migrations ORDER BY id`,
      );
      expect(rows.rows).toEqual(
        POSTGRES_MIGRATIONS.map((m) => ({
          id: m.id,
          name: m.name,
          applied_ms: Date.UTC(2024, 0, 1),
        })),
      );
    });

    it('applies once when several stores open the same new schema at once', async () => {
      const schema = uniqueTestName();
      const stores = Array.from({ length: 6 }, () => newStore({ schema }));
      await Promise.all(stores.map((store) => store.open()));
      await Promise.all(
        stores.map((store, i) =>
          store.writeBatch({
            runId: i,
            bars: Array.from({ length: 50 }, (_, j) => makeBar(j, { symbol: `S${i}` })),
          }),
        ),
      );
      const count = await db().query(`SELECT count(*)::int AS n FROM "${schema}".mdp_migrations`);
      expect(count.rows[0]).toEqual({ n: POSTGRES_MIGRATIONS.length });
      expect(await stores[0]?.countBars()).toBe(300);
    });

    it('refuses a schema migrated by a newer mdp', async () => {
      const schema = uniqueTestName();
      await (await openStore({ schema })).close();
      await db().query(
        `INSERT INTO "${schema}".mdp_migrations VALUES (999, 'from the future', now())`,
      );
      const error = await failure(newStore({ schema }).open());
      expect(error.code).toBe('MDP_STORE_SCHEMA_NEWER');
      expect(error.message).toMatch(/schema version 999/);
      expect(error.message).toContain(`schema ${schema}`);
    });

    it('refuses other upsert keys than the schema was created with, saying how to fix it', async () => {
      const schema = uniqueTestName();
      await (await openStore({ schema })).close();
      const error = await failure(
        newStore({ schema, upsertKeys: ['provider', 'symbol', 'ts'] }).open(),
      );
      expect(error.code).toBe('MDP_STORE_SCHEMA_MISMATCH');
      expect(error.message).toContain('[provider, symbol, interval, ts]');
      expect(error.message).toContain('storage.primary.write.upsert_keys');
      const sameKeys = await openStore({
        schema,
        upsertKeys: ['ts', 'interval', 'symbol', 'provider'],
      });
      await sameKeys.writeBatch({ runId: 1, bars: [makeBar(0)] });
      await sameKeys.writeBatch({ runId: 1, bars: [makeBar(0, {}, 5)] });
      expect(await sameKeys.countBars()).toBe(1);
    });

    it('adds a series index when the keys do not start with the series', async () => {
      const store = await openStore({ upsertKeys: ['ts', 'provider', 'symbol', 'interval'] });
      const indexes = await db().query<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'bars_ohlcv'`,
        [store.schemaName],
      );
      expect(indexes.rows.map((row) => row.indexname)).toContain('bars_ohlcv_series');
    });
  });

  describe('writes', () => {
    it('refreshes ingested_at and run_id when a bar is written again', async () => {
      let now = Date.UTC(2024, 0, 1);
      const store = await openStore({ clock: () => now });
      await store.writeBatch({ runId: 1, bars: [makeBar(0), makeBar(1)] });
      now += 8_000;
      await store.writeBatch({ runId: 2, bars: [makeBar(1)] });
      const rows = await db().query(
        `SELECT run_id, (extract(epoch from ingested_at) * 1000)::float8 AS ingested
         FROM "${store.schemaName}".bars_ohlcv ORDER BY ts`,
      );
      expect(rows.rows).toEqual([
        { run_id: 1, ingested: Date.UTC(2024, 0, 1) },
        { run_id: 2, ingested: Date.UTC(2024, 0, 1) + 8_000 },
      ]);
    });

    it('collapses in-batch duplicates that PostgreSQL itself would refuse (SQLSTATE 21000)', async () => {
      const store = await openStore();
      const bars = [makeBar(0, {}, 1), makeBar(1, {}, 2), makeBar(0, {}, 3)];
      // What a naive multi-row upsert of the same bars gets from PostgreSQL.
      const naive = db().query(
        `INSERT INTO "${store.schemaName}".bars_ohlcv
           (provider, symbol, interval, ts, open, high, low, close, volume, run_id, ingested_at)
         SELECT 'p1', 'AAA', '1m', to_timestamp(t / 1000.0), 1, 1, 1, 1, 1, 1, now()
         FROM unnest($1::float8[]) AS t
         ON CONFLICT (provider, symbol, interval, ts) DO UPDATE SET open = EXCLUDED.open`,
        [bars.map((bar) => bar.ts)],
      );
      await expect(naive).rejects.toMatchObject({ code: '21000' });
      expect(await store.writeBatch({ runId: 1, bars })).toEqual({
        rowsWritten: 2,
        duplicatesDropped: 1,
      });
      const stored = await store.readBars({ provider: 'p1', symbol: 'AAA', interval: '1m' });
      expect(stored.map((bar) => bar.open)).toEqual([3, 2]);
    });

    it('keeps nothing of a batch whose bar fails a NOT NULL column (NaN is stored as NULL, as SQLite does)', async () => {
      const store = await openStore();
      const bars = Array.from({ length: 1000 }, (_, i) => makeBar(i));
      bars[950] = makeBar(950, { open: Number.NaN });
      const error = await failure(
        store.writeBatch({
          runId: 1,
          bars,
          rejected: [
            { provider: 'p1', symbol: 'AAA', interval: '1m', ts: 0, reason: 'nan', raw: '{}' },
          ],
        }),
      );
      expect(error.code).toBe('MDP_STORE_WRITE');
      expect(error.message).toMatch(/null value in column "open"/);
      expect(error.message).toMatch(/rolled back/);
      expect(error.message).not.toContain(PASSWORD);
      expect(await store.countBars()).toBe(0);
      expect(await store.countRejected()).toBe(0);
      // The connection that failed went back to the pool usable.
      await store.writeBatch({ runId: 2, bars: [makeBar(0)] });
      expect(await store.countBars()).toBe(1);
    });

    it('refuses a fractional ts or trade count instead of storing it rounded', async () => {
      const store = await openStore();
      for (const bad of [{ ts: 1.5 }, { tradeCount: 2.5 }]) {
        const error = await failure(
          store.writeBatch({ runId: 1, bars: [makeBar(0), makeBar(1, bad)] }),
        );
        expect(error.code).toBe('MDP_STORE_WRITE');
        expect(error.message).toMatch(/not a whole number/);
      }
      expect(await store.countBars()).toBe(0);
    });

    it('stores a rejected bar whatever its ts, keeping ts only when timestamptz can hold it', async () => {
      const store = await openStore();
      const base = {
        provider: 'p1',
        symbol: 'AAA',
        interval: '1m',
        reason: 'r',
        raw: '{}',
      } as const;
      await store.writeBatch({
        runId: 3,
        bars: [],
        rejected: [
          { ...base, ts: 1.5 },
          { ...base, ts: Number.NaN },
          { ...base, ts: 1e20 },
          { ...base, ts: Date.UTC(2024, 0, 1), raw: `{"note":"it's \\"quoted\\""}` },
        ],
      });
      const rows = await db().query(
        `SELECT (extract(epoch from ts) * 1000)::float8 AS ts, raw
         FROM "${store.schemaName}".bars_rejected ORDER BY id`,
      );
      expect(rows.rows).toEqual([
        { ts: 1.5, raw: '{}' },
        { ts: null, raw: '{}' },
        { ts: null, raw: '{}' },
        { ts: Date.UTC(2024, 0, 1), raw: `{"note":"it's \\"quoted\\""}` },
      ]);
      expect(await store.countRejected(3)).toBe(4);
    });
  });

  describe('job runs', () => {
    it('two stores on one schema share the run lock; concurrent starts let exactly one through', async () => {
      const schema = uniqueTestName();
      const stores = await Promise.all(
        Array.from({ length: 5 }, () => openStore({ schema, hostname: 'box' })),
      );
      const outcomes = await Promise.allSettled(
        stores.map((store, i) => store.startRun(runStart({ pid: 100 + i }))),
      );
      const started = outcomes.filter((o) => o.status === 'fulfilled');
      const refused = outcomes.filter((o) => o.status === 'rejected');
      expect(started).toHaveLength(1);
      expect(refused).toHaveLength(4);
      for (const outcome of refused) {
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(JobLockedError);
      }
      expect(await stores[0]?.listRuns()).toHaveLength(1);
    });

    it('waits while another session holds the job lock, and goes on when that session dies', async () => {
      const store = await openStore({ hostname: 'box' });
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      holder.on('error', () => undefined); // terminated below, on purpose
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `mdp:job:${store.schemaName}:pg_job`,
        ]);
        const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]
          ?.pid;
        let settled = false;
        const starting = store.startRun(runStart()).finally(() => (settled = true));
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(settled).toBe(false);
        // The holder crashes: its connection goes, and its lock with it.
        await db().query('SELECT pg_terminate_backend($1)', [pid]);
        expect((await starting).status).toBe('running');
      } finally {
        await holder.end().catch(() => undefined);
      }
    });

    it('leaves a run that beat after it was judged stale: the abandon applies to that heartbeat only', async () => {
      let now = Date.UTC(2024, 0, 1);
      const store = await openStore({ databaseClock: () => now, hostname: 'box' });
      const run = await store.startRun(runStart({ heartbeatIntervalMs: 1000 }));
      now += 10_000;
      // Another process's heartbeat lands between a reaper's read and its update.
      await db().query(
        `UPDATE "${store.schemaName}".job_runs SET heartbeat_at = heartbeat_at + interval '1 ms'
         WHERE run_id = $1`,
        [run.runId],
      );
      const marked = await db().query(
        `UPDATE "${store.schemaName}".job_runs SET status = 'abandoned'
         WHERE run_id = $1 AND status = 'running'
           AND (extract(epoch from heartbeat_at) * 1000)::float8 = $2::float8`,
        [run.runId, run.heartbeatAt],
      );
      expect(marked.rowCount).toBe(0);
      expect((await store.getRun(run.runId))?.status).toBe('running');
      expect((await store.reapAbandoned()).map((r) => r.runId)).toEqual([run.runId]);
    });

    it('stores params as jsonb and times as timestamptz', async () => {
      const store = await openStore();
      const run = await store.startRun(runStart({ params: { from: '2024-01-01', force: true } }));
      const row = await db().query(
        `SELECT params->>'from' AS "from", pg_typeof(started_at)::text AS started_type
         FROM "${store.schemaName}".job_runs WHERE run_id = $1`,
        [run.runId],
      );
      expect(row.rows[0]).toEqual({ from: '2024-01-01', started_type: 'timestamp with time zone' });
    });
  });

  describe('clocks: heartbeats are stamped and judged by the database, never a host', () => {
    const HOUR = 3_600_000;
    const beat = { rowsWritten: 0, batches: 0 };

    it('hosts whose clocks are an hour apart do not abandon a live run', async () => {
      const schema = uniqueTestName();
      // The run's host is an hour behind, the host checking on it an hour ahead.
      const runner = await openStore({ schema, clock: () => Date.now() - HOUR, hostname: 'slow' });
      const checker = await openStore({ schema, clock: () => Date.now() + HOUR, hostname: 'fast' });
      const run = await runner.startRun(runStart({ heartbeatIntervalMs: 1000 }));
      await runner.heartbeat(run.runId, beat);
      expect(await checker.reapAbandoned()).toEqual([]);
      await expect(checker.startRun(runStart())).rejects.toThrow(JobLockedError);
      expect((await checker.getRun(run.runId))?.status).toBe('running');
      const stamped = await db().query<{ skew: number }>(
        `SELECT abs(extract(epoch from heartbeat_at - clock_timestamp()))::float8 AS skew
         FROM "${schema}".job_runs WHERE run_id = $1`,
        [run.runId],
      );
      expect(stamped.rows[0]?.skew).toBeLessThan(60);
    });

    it('a host whose clock is an hour behind still abandons a run that stopped beating', async () => {
      const schema = uniqueTestName();
      const runner = await openStore({ schema, hostname: 'crashed' });
      const checker = await openStore({ schema, clock: () => Date.now() - HOUR, hostname: 'slow' });
      const run = await runner.startRun(runStart({ heartbeatIntervalMs: 100 }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const reaped = await checker.reapAbandoned();
      expect(reaped.map((r) => r.runId)).toEqual([run.runId]);
      expect(reaped[0]?.error).toMatch(/^no heartbeat for 0\.\ds \(expected every 0\.1s\)$/);
    });
  });

  describe('connection errors', () => {
    it('a wrong password is MDP_STORE_AUTH, naming the user but never the password', async () => {
      const wrong = 'not-the-Password-42';
      const error = await failure(newStore({ uri: urlWith((u) => (u.password = wrong)) }).open());
      expect(error.code).toBe('MDP_STORE_AUTH');
      expect(error.message).toMatch(/refused the login of user "postgres"/);
      expect(error.message).toMatch(/password/);
      expect(error.message).not.toContain(wrong);
      expect(error.message).not.toContain(PASSWORD);
      expect(error.transient).toBe(false);
    });

    it('an unknown host is MDP_STORE_HOST_UNKNOWN', async () => {
      const error = await failure(
        newStore({ uri: urlWith((u) => (u.hostname = 'no-such-host.invalid')) }).open(),
      );
      expect(error.code).toBe('MDP_STORE_HOST_UNKNOWN');
      expect(error.message).toContain('"no-such-host.invalid"');
      expect(error.message).not.toContain(PASSWORD);
    });

    it('a refused connection is MDP_STORE_REFUSED, naming host and port', async () => {
      const port = await freePort();
      const error = await failure(
        newStore({ uri: urlWith((u) => (u.port = String(port))) }).open(),
      );
      expect(error.code).toBe('MDP_STORE_REFUSED');
      expect(error.message).toContain(`127.0.0.1:${port} refused the connection`);
      expect(error.message).not.toContain(PASSWORD);
      expect(error.transient).toBe(true);
    });

    it('a missing database is MDP_STORE_NO_DATABASE, with the command that creates it', async () => {
      const error = await failure(
        newStore({ uri: urlWith((u) => (u.pathname = '/no_such_db')) }).open(),
      );
      expect(error.code).toBe('MDP_STORE_NO_DATABASE');
      expect(error.message).toMatch(/database "no_such_db" does not exist/);
      expect(error.message).toMatch(/createdb .* no_such_db/);
      expect(error.message).not.toContain(PASSWORD);
    });

    it('a server that accepts but never answers is MDP_STORE_TIMEOUT after connectTimeoutMs', async () => {
      const silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as AddressInfo;
      try {
        const started = Date.now();
        const error = await failure(
          newStore({ uri: urlWith((u) => (u.port = String(port))), connectTimeoutMs: 300 }).open(),
        );
        expect(error.code).toBe('MDP_STORE_TIMEOUT');
        expect(error.message).toContain(`no connection to 127.0.0.1:${port} in time`);
        expect(error.transient).toBe(true);
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        silent.close();
      }
    });

    it('a URI that is not one is MDP_STORE_CONFIG, at construction', () => {
      expect(() => new PostgresStore({ uri: 'postgresql://[bad' })).toThrow(
        expect.objectContaining({ code: 'MDP_STORE_CONFIG' }),
      );
    });

    it('a connection the server ends mid-statement is transient MDP_STORE_CONNECTION_LOST', async () => {
      const appName = uniqueTestName();
      const victim = new pg.Client({ connectionString: url, application_name: appName });
      await victim.connect();
      victim.on('error', () => undefined); // terminated below, on purpose
      const sleeping = victim.query('SELECT pg_sleep(30)').then(
        () => undefined,
        (e: unknown) => e,
      );
      await db().query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
        [appName],
      );
      const thrown = await sleeping;
      await victim.end().catch(() => undefined);
      const error = postgresStoreError(
        thrown,
        { user: 'postgres', host: '127.0.0.1', port: 5432, database: 'postgres' },
        'write',
      ) as StoreError;
      expect(error.code).toBe('MDP_STORE_CONNECTION_LOST');
      expect(error.transient).toBe(true);
      expect(error.message).toMatch(/rolled back/);
    });

    it('replaces idle connections the server dropped, with a warning', async () => {
      const appName = uniqueTestName();
      const warnings: string[] = [];
      const store = await openStore({
        uri: urlWith((u) => u.searchParams.set('application_name', appName)),
        onWarning: (message) => warnings.push(message),
      });
      await store.writeBatch({ runId: 1, bars: [makeBar(0)] });
      await db().query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
        [appName],
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      await store.writeBatch({ runId: 1, bars: [makeBar(1)] });
      expect(await store.countBars()).toBe(2);
      expect(warnings.join('\n')).toMatch(/lost an idle connection/);
      expect(warnings.join('\n')).not.toContain(PASSWORD);
    });
  });

  describe('TimescaleDB', () => {
    it('without the extension: a plain table, said once per open through onWarning', async () => {
      const warnings: string[] = [];
      const schema = uniqueTestName();
      const options = {
        schema,
        timescale: { chunkIntervalMs: 86_400_000 },
        onWarning: (message: string) => warnings.push(message),
      };
      const store = await openStore(options);
      await store.writeBatch({ runId: 1, bars: [makeBar(0), makeBar(1)] });
      await store.readBars({ provider: 'p1', symbol: 'AAA', interval: '1m' });
      expect(store.timescaleLayout?.layout).toBe('plain');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/timescaledb not installed: bars_ohlcv is a plain table/);
      expect(warnings[0]).toMatch(/storage\.primary\.type: postgres/);
      await store.close();
      await store.open();
      expect(warnings).toHaveLength(2);
    });

    it('says nothing for type postgres', async () => {
      const warnings: string[] = [];
      const store = await openStore({ onWarning: (message) => warnings.push(message) });
      expect(store.timescaleLayout).toBeUndefined();
      await store.writeBatch({ runId: 1, bars: [makeBar(0)] });
      expect(warnings).toEqual([]);
    });
  });
});
