/**
 * `mdp serve` follows `follow: true` live jobs continuously, restarts them when SIGHUP changes
 * them, and cancels them on SIGTERM; as child processes on both stores.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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
});
