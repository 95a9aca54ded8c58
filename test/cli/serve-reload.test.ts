/**
 * `mdp serve` and SIGHUP, and two services on one store, as child processes on both stores.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  claimedTicks,
  logLines,
  serve,
  startServe,
  ticksDone,
  writeServeConfig,
} from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();

describe.each(STORAGE_KINDS)('mdp serve on %s', { timeout: 120_000 }, (kind) => {
  const storage = useTestStorage(kind);

  it('SIGHUP with a broken config keeps the running one; a valid one is applied', async () => {
    const dir = tempDir();
    const jobs = { live_job: { schedule: '*/2 * * * * *' }, backfill_job: null };
    const service = startServe(dir, jobs, { storage: kind });
    await ticksDone(kind, dir, 'live_job', 2);

    writeFileSync(service.file, service.text({ live_job: { schedule: '0 25 * * *' } }));
    service.child.kill('SIGHUP');
    const refused = await waitFor('the refused reload in the log', () =>
      logLines(service.stderr()).find((line) => line.msg.startsWith('config reload refused')),
    );
    expect(refused.msg).toContain('jobs.live_job.schedule: "0 25 * * *" is not a cron expression');
    expect(refused.code).toBe('MDP_CONFIG_INVALID');
    const atRefusal = (await claimedTicks(kind, dir, 'live_job')).length;
    // The old schedule goes on ticking.
    const kept = await ticksDone(kind, dir, 'live_job', atRefusal + 2);
    expect(kept.every((tick) => tick.tickAt % 2_000 === 0)).toBe(true);

    const reloaded = await service.reload({ live_job: { schedule: '*/5 * * * * *' } });
    expect(reloaded.rescheduled).toEqual(['live_job']);
    const reloadedAt = Date.parse(String(reloaded.time));
    await waitFor(
      'two ticks of the new schedule',
      async () => {
        const ticks = await claimedTicks(kind, dir, 'live_job');
        return ticks.filter((tick) => tick.tickAt > reloadedAt).length >= 2 ? true : undefined;
      },
      60_000,
      200,
    );
    const result = await service.stop();
    expect(result.code).toBe(143);
    const after = (await claimedTicks(kind, dir, 'live_job')).filter(
      (tick) => tick.tickAt > reloadedAt,
    );
    expect(after.every((tick) => tick.tickAt % 5_000 === 0)).toBe(true);
    // A tick the service claimed either ran or was cut by SIGTERM: none failed.
    const all = await claimedTicks(kind, dir, 'live_job');
    expect(
      all.filter((tick) => tick.outcome === 'failed' && !tick.detail?.startsWith('cancelled')),
    ).toEqual([]);
  });

  it('two services on one store run each tick once between them', async () => {
    const dir = tempDir();
    const file = writeServeConfig(
      dir,
      { live_job: { schedule: '*/2 * * * * *' }, backfill_job: null },
      { storage: kind },
    );
    const a = serve(file);
    const b = serve(file);
    await ticksDone(kind, dir, 'live_job', 8);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    const [ra, rb] = await Promise.all([a.exited, b.exited]);
    expect([ra.code, rb.code]).toEqual([143, 143]);

    const ticks = await claimedTicks(kind, dir, 'live_job');
    const ran = ticks.filter((tick) => tick.outcome === 'ran');
    expect(ran.length).toBeGreaterThanOrEqual(8);
    // One run per ran tick, and no run of the job besides them (a cancelled last one at most).
    const runs = await storage.jobRuns(dir);
    const succeeded = runs.filter((run) => run.status === 'success');
    expect(succeeded).toHaveLength(ran.length);
    expect(runs.length - succeeded.length).toBeLessThanOrEqual(2);
    // Each process ran only the ticks it claimed, and lost the others' claims to them.
    const ranBy = (result: typeof ra) =>
      logLines(result.stderr)
        .filter((line) => line.msg === 'tick ran')
        .map((line) => Date.parse(String(line.tick)));
    const ranA = ranBy(ra);
    const ranB = ranBy(rb);
    expect(ranA.filter((tick) => ranB.includes(tick))).toEqual([]);
    expect([...ranA, ...ranB].sort((x, y) => x - y)).toEqual(ran.map((tick) => tick.tickAt));
    console.log(
      `${kind}: ${ran.length} ticks ran, ${ranA.length} by one service, ${ranB.length} by the other`,
    );
  });
});
