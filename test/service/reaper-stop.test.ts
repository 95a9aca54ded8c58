import pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Reaper } from '../../src/service/reaper.js';
import { schemaForDir } from '../helpers/postgres-test-names.js';
import { testPostgresUrl } from '../helpers/postgres-test-server.js';
import { foreignRunStart } from '../helpers/foreign-run-start.js';
import { openTestStore } from '../helpers/test-storage.js';
import { useTempDir } from '../helpers/temp-dir.js';

/**
 * Found in review of issue 13 (src/service/reaper.ts). The service stops its reaper on SIGTERM; a pass in
 * flight is not given the signal, so a pass waiting on another session's lock (or a store that
 * hangs) holds the shutdown for up to lock_timeout (30 s by default), past what an operator or
 * a supervisor waits for.
 */
const tempDir = useTempDir();

describe('review: Reaper', () => {
  it('stops when its signal aborts, even while a pass waits for a lock another session holds', async () => {
    const dir = tempDir();
    const store = await openTestStore('postgres', dir);
    const holder = new pg.Client({ connectionString: testPostgresUrl() });
    await holder.connect();
    try {
      const schema = schemaForDir(dir);
      await holder.query('BEGIN');
      await holder.query(`LOCK TABLE "${schema}".job_runs IN ACCESS EXCLUSIVE MODE`);
      const reaper = new Reaper({
        store,
        intervalMs: 60_000,
        logger: pino({ level: 'silent' }),
      });
      const stop = new AbortController();
      const running = reaper.run(stop.signal);
      // The pass is queued behind the lock.
      for (let i = 0; i < 100; i++) {
        const { rows } = await holder.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND locktype = 'relation'",
        );
        if (Number(rows[0]?.n) > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      stop.abort();
      const outcome = await Promise.race([
        running.then(() => 'stopped'),
        new Promise((resolve) => setTimeout(() => resolve('still running after 5 s'), 5_000)),
      ]);
      await holder.query('ROLLBACK');
      await running;
      expect(outcome).toBe('stopped');
    } finally {
      await holder.end();
      await store.close();
    }
  }, 60_000);

  it('a pass whose listener throws still reports the runs it marked, and does not blame the store', async () => {
    let now = 1_000_000;
    const dir = tempDir();
    const store = await openTestStore('sqlite', dir, { clock: () => now, hostname: 'this-host' });
    const lines: string[] = [];
    const reaper = new Reaper({
      store,
      intervalMs: 30_000,
      logger: pino({ level: 'warn' }, { write: (line: string) => lines.push(line) }),
      onReaped: () => {
        throw new Error('the counter is not registered');
      },
    });
    try {
      const run = await store.startRun(foreignRunStart('job_a'));
      now += 10_000;
      const reaped = await reaper.reapOnce();
      // The store did mark it: no later pass will find it again, as the log line promises.
      expect((await store.getRun(run.runId))?.status).toBe('abandoned');
      expect(reaped.map((r) => r.runId)).toEqual([run.runId]);
      expect(lines.join('')).not.toContain('looked for again at the next pass');
    } finally {
      await store.close();
    }
  });
});
