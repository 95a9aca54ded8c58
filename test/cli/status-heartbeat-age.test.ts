/**
 * `mdp status` on a host whose clock is off: a heartbeat's age is measured by the clock that
 * stamped it (PostgreSQL's), so a live run is not shown stale, nor a dead one fresh. PostgreSQL
 * only: on SQLite one host's clock stamps and reads the file alike.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { useOperatorSql } from '../helpers/operator-sql.js';
import { writeTestConfig } from '../helpers/test-config.js';
import { openTestStore } from '../helpers/test-storage.js';
import { TEST_RUN_START } from '../helpers/tracked-run-options.js';

const tempDir = useTempDir();
const operatorSql = useOperatorSql();
const SKEWED_CLOCK = fileURLToPath(new URL('./fixtures/skewed-clock.mjs', import.meta.url));

describe('mdp status on a host whose clock is off, on postgres', () => {
  it.each([
    ['an hour ahead', 3_600_000],
    ['an hour behind', -3_600_000],
  ])('%s shows a live run’s heartbeat with its true age', async (_, skewMs) => {
    const dir = tempDir();
    const config = writeTestConfig(dir, { storage: 'postgres' });
    const store = await openTestStore('postgres', dir);
    try {
      const run = await store.startRun({
        ...TEST_RUN_START,
        jobName: 'backfill_job',
        heartbeatIntervalMs: 600_000,
      });
      // Its last heartbeat was 5 minutes ago by the database's clock: alive (3 missed = 30m).
      await operatorSql(
        'postgres',
        dir,
        (runs) =>
          `UPDATE ${runs} SET heartbeat_at = now() - interval '5 minutes' WHERE run_id = ${run.runId}`,
      );
      const status = await runCli(['status', '--json', '--config', config], {
        env: {
          NODE_OPTIONS: `--import=${SKEWED_CLOCK}`,
          MDP_TEST_HOST_CLOCK_SKEW_MS: String(skewMs),
        },
      });
      expect(status.code, status.stderr).toBe(0);
      const view = JSON.parse(status.stdout) as {
        jobs: { job_name: string; running: { run_id: number; heartbeat_age_seconds: number } }[];
      };
      const job = view.jobs.find((entry) => entry.job_name === 'backfill_job');
      expect(job?.running.run_id).toBe(run.runId);
      expect(job?.running.heartbeat_age_seconds).toBeGreaterThanOrEqual(300);
      expect(job?.running.heartbeat_age_seconds).toBeLessThan(330);
    } finally {
      await store.close();
    }
  });
});
