/**
 * `mdp serve` follows `follow: true` live jobs continuously, restarts them when SIGHUP changes
 * them, and cancels them on SIGTERM; as child processes on both stores.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { logLines, serve, serveConfigText, writeServeConfig } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();

describe.each(STORAGE_KINDS)('mdp serve, a followed job, on %s', { timeout: 120_000 }, (kind) => {
  const storage = useTestStorage(kind);

  it('follows the job, restarts it when SIGHUP changes it, and cancels it on SIGTERM', async () => {
    const dir = tempDir();
    const jobs = { live_job: { follow: true }, backfill_job: null };
    const file = writeServeConfig(dir, jobs, { storage: kind });
    const service = serve(file);
    // The first cycle fetches the lookback, then the run waits for the next bar close.
    const first = await waitFor('the followed run writing bars', async () => {
      const runs = await storage.jobRuns(dir);
      return runs[0]?.status === 'running' && runs[0].rows_written > 0 ? runs[0] : undefined;
    });
    expect(first.mode).toBe('live');

    writeFileSync(
      file,
      serveConfigText(
        dir,
        { ...jobs, live_job: { follow: true, live: { lookback: '3h' } } },
        { storage: kind },
      ),
    );
    service.child.kill('SIGHUP');
    const second = await waitFor('the restarted run', async () => {
      const runs = await storage.jobRuns(dir);
      return runs.length === 2 && runs[1]!.status === 'running' ? runs : undefined;
    });
    expect(second[0]).toMatchObject({ run_id: first.run_id, status: 'cancelled' });
    expect(second[0]!.error).toBe(
      "cancelled: the job's config changed and it restarts with the new one",
    );
    const reloaded = logLines(service.stderr()).find((line) =>
      line.msg.startsWith('config reloaded'),
    );
    expect(reloaded).toMatchObject({
      stoppedFollowing: ['live_job'],
      startedFollowing: ['live_job'],
    });

    service.child.kill('SIGTERM');
    const result = await service.exited;
    expect(result.code, result.stderr).toBe(143);
    const runs = await storage.jobRuns(dir);
    expect(runs.map((run) => run.status)).toEqual(['cancelled', 'cancelled']);
    expect(runs[1]!.error).toContain('interrupted by SIGTERM');
    // Only whole batches: what the runs recorded is what the table holds (the restarted run
    // fetched from the last stored bar on, so no bar was written twice).
    expect((await storage.barSnapshot(dir)).count).toBe(
      runs.reduce((sum, run) => sum + run.rows_written, 0),
    );
  });

  it('a followed live job and a scheduled backfill on one provider share its one budget: no 429', async () => {
    const dir = tempDir();
    const port = await freePort();
    // The simulated server refuses (429) past 120 requests a minute with a burst of 2: pacing
    // set to exactly that holds only if both jobs draw from one bucket.
    const limit = { requests_per_minute: 120, burst: 2 };
    const file = writeServeConfig(
      dir,
      { live_job: { follow: true }, backfill_job: { schedule: '*/4 * * * * *' } },
      {
        storage: kind,
        // About 40 backfill requests (2 symbols, 2 days of 1m bars, 150 a page) beside the live ones.
        maxBarsPerRequest: 150,
        pacing: { ...limit, cooldown_seconds: 1 },
        serverLimit: { ...limit, retry_after_seconds: 1 },
        metrics: { port },
      },
    );
    const service = serve(file);
    const requests = async (): Promise<string> =>
      (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const scraped = await waitFor(
      'thirty requests of the two jobs',
      async () => {
        const text = await requests().catch(() => '');
        const ok = /^pipeline_provider_requests_total\{provider="synth",status="ok"\} (\d+)$/m.exec(
          text,
        );
        return ok && Number(ok[1]) >= 30 ? text : undefined;
      },
      60_000,
      250,
    );
    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(143);
    expect(scraped).toMatch(
      /^pipeline_provider_requests_total\{provider="synth",status="rate_limited"\} 0$/m,
    );
    const waited = /^pipeline_provider_pacing_wait_seconds_total\{provider="synth"\} (\S+)$/m.exec(
      scraped,
    );
    expect(Number(waited?.[1])).toBeGreaterThan(0);
    const runs = await storage.jobRuns(dir);
    expect(new Set(runs.map((run) => run.job_name))).toEqual(new Set(['live_job', 'backfill_job']));
  });
});
