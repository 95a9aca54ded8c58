/**
 * Review (issue 13): `pipeline_job_last_run_failed` after a service restart. The gauge was seeded
 * from job_runs only when a run of the job attached, so a service restarted after a failed run
 * read 0 until the job's next tick (hours for a nightly backfill): MdpJobFailed cleared on a
 * restart although nothing had been fixed.
 */
import { describe, expect, it } from 'vitest';
import { parseExposition, samplesOf } from '../helpers/exposition.js';
import { freePort } from '../helpers/free-port.js';
import { runCli } from '../helpers/run-cli.js';
import { startServe, writeServeConfig, type JobExtras } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();

/** A schedule that does not fire during the test: the gauge can only come from job_runs. */
const NIGHTLY = { schedule: '0 2 * * *', catchup: 'none' };

describe.each(STORAGE_KINDS)(
  'mdp serve on %s: the last run failed',
  { timeout: 120_000 },
  (kind) => {
    /** backfill_job's gauge on /metrics (null: no sample); rejects while nothing listens. */
    async function lastRunFailed(port: number): Promise<number | null> {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const [sample] = samplesOf(parseExposition(text), 'pipeline_job_last_run_failed', {
        job_name: 'backfill_job',
      });
      return sample?.value ?? null;
    }

    /** A backfill that fails, recorded in job_runs; then `mdp serve` with `jobs`. */
    async function serveAfterAFailure(jobs: JobExtras) {
      const dir = tempDir();
      const port = await freePort();
      const options = { storage: kind, metrics: { port }, failureRate: 1, maxAttempts: 1 };
      const file = writeServeConfig(dir, { backfill_job: NIGHTLY }, options);
      const failed = await runCli(['backfill', '--config', file, '--job', 'backfill_job']);
      expect(failed.code, failed.stderr).toBe(1);
      return { port, service: startServe(dir, jobs, options) };
    }

    it('reads 1 on the first scrape after a start, before any tick', async () => {
      const { port, service } = await serveAfterAFailure({ backfill_job: NIGHTLY });
      try {
        // The first answer of /metrics: the gauge is right before anything could have moved it.
        expect(await waitFor('/metrics', () => lastRunFailed(port), 60_000, 200)).toBe(1);
      } finally {
        await service.stop();
      }
    });

    it('reads 1 for a job a reload adds, before any tick', async () => {
      const { port, service } = await serveAfterAFailure({ live_job: NIGHTLY, backfill_job: null });
      try {
        expect(await waitFor('/metrics', () => lastRunFailed(port), 60_000, 200)).toBeNull();
        await service.reload({ backfill_job: NIGHTLY });
        // The reload reads job_runs after it is applied: the gauge comes to 1, never by a tick.
        await waitFor(
          'backfill_job failed on /metrics',
          async () => ((await lastRunFailed(port)) === 1 ? true : undefined),
          30_000,
          100,
        );
      } finally {
        await service.stop();
      }
    });
  },
);
