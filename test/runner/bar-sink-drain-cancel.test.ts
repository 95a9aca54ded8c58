/**
 * The spool's drain writes to the primary like any batch, so the run's signal cancels it there
 * too: a drain waiting on a PostgreSQL table lock another session holds used to be left to
 * lock_timeout, and SIGINT with it. The batch stays in the spool for the next run.
 */
import { join } from 'node:path';
import type pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../src/core/errors.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { BarSink } from '../../src/pipeline/runner/bar-sink.js';
import { RunTotalsCounter } from '../../src/pipeline/runner/run-totals-counter.js';
import { systemTiming } from '../../src/pipeline/timing.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteSpool } from '../../src/store/sqlite/sqlite-spool.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl, useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { makeBar } from '../store/store-conformance.js';

const tempDir = useTempDir();
const db = useTestPostgresPool();

describe('the spool drain on a locked PostgreSQL table', () => {
  it('is cancelled by the run signal within seconds, and the batch stays spooled', async () => {
    const schema = uniqueTestName();
    const store = new PostgresStore({
      uri: testPostgresUrl(),
      schema,
      timeouts: { statementMs: 60_000, lockMs: 30_000 },
    });
    await store.open();
    const spool = new SqliteSpool({ path: join(tempDir(), 'spool.db'), maxBars: 1000 });
    const bars = [makeBar(0), makeBar(1)];
    await spool.append({ jobName: 'live_job', target: store.target, runId: 1, bars, rejected: [] });
    const cancel = new AbortController();
    const sink = new BarSink({
      store,
      runId: 1,
      jobName: 'live_job',
      provider: 'p1',
      batchSize: 100,
      writeEnabled: true,
      events: new RunEvents(),
      totals: new RunTotalsCounter(),
      timing: systemTiming,
      retry: {
        max_attempts: 2,
        backoff_seconds: 0.001,
        max_backoff_seconds: 0.001,
        jitter: 'none',
      },
      random: () => 0.5,
      signal: cancel.signal,
      logger: pino({ level: 'silent' }),
      spool: { spool, keep: true },
    });
    let holder: pg.PoolClient | undefined;
    try {
      holder = await db().connect();
      await holder.query('BEGIN');
      await holder.query(`LOCK TABLE "${schema}".bars_ohlcv IN ACCESS EXCLUSIVE MODE`);
      const draining = sink.drainSpool().then(
        () => ({ at: Date.now(), error: undefined }),
        (error: unknown) => ({ at: Date.now(), error }),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      const aborted = Date.now();
      cancel.abort(
        new CancelledError('interrupted by SIGINT', { kind: 'signal', signal: 'SIGINT' }),
      );
      const drained = await draining;
      expect(drained.at - aborted).toBeLessThan(3_000);
      expect(drained.error).toBeInstanceOf(CancelledError);
      expect(await spool.depth('live_job')).toBe(bars.length);
    } finally {
      await holder?.query('ROLLBACK');
      holder?.release();
      spool.close();
      await store.close();
    }
    const stored = await db().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".bars_ohlcv`,
    );
    expect(stored.rows[0]?.n).toBe(0);
  }, 60_000);
});
