/**
 * `mdp serve` as a child process on both stores: ticks on time, catch-up after downtime by
 * policy, SIGTERM mid-run (whole batches, exit 143), /healthz and /metrics of the scheduler.
 */
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import {
  claimedTicks,
  logLines,
  serve,
  startServe,
  ticksDone,
  writeServeConfig,
} from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { runCli } from '../helpers/run-cli.js';
import { STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();

describe.each(STORAGE_KINDS)('mdp serve on %s', { timeout: 120_000 }, (kind) => {
  const storage = useTestStorage(kind);

  it(
    'runs a schedule of every 3 s on time for a minute, says so on /healthz and /metrics, and exits 143 on SIGTERM',
    { timeout: 180_000 },
    async () => {
      const dir = tempDir();
      const port = await freePort();
      const file = writeServeConfig(
        dir,
        { live_job: { schedule: '*/3 * * * * *' }, backfill_job: null },
        { storage: kind, metrics: { port } },
      );
      const service = serve(file, [], 150_000);
      // A minute from the first tick to the last: 21 ticks, 3 s apart.
      await ticksDone(kind, dir, 'live_job', 21);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      const healthText = await health.text();
      expect(health.status, healthText).toBe(200);
      expect(healthText).toMatch(/^scheduler: ok \(last beat \d+ ms ago\)$/m);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(
        /^pipeline_schedule_ticks_total\{job_name="live_job",outcome="ran"\} \d+$/m,
      );
      expect(metrics).toMatch(
        /^pipeline_schedule_next_tick_timestamp_seconds\{job_name="live_job"\} \d+$/m,
      );
      service.child.kill('SIGTERM');
      const result = await service.exited;
      expect(result.code, result.stderr).toBe(143);
      expect(result.stderr).toContain('interrupted by SIGTERM');

      const ticks = await claimedTicks(kind, dir, 'live_job');
      expect(ticks.at(-1)!.tickAt - ticks[0]!.tickAt).toBeGreaterThanOrEqual(60_000);
      // Every tick on a multiple of 3 s, none left out between the first and the last.
      for (const [i, tick] of ticks.entries()) {
        expect(tick.tickAt % 3_000).toBe(0);
        if (i > 0) expect(tick.tickAt - ticks[i - 1]!.tickAt).toBe(3_000);
      }
      // Every tick ran, but the one SIGTERM may have cut short (recorded as cancelled).
      const ran = ticks.filter((tick) => tick.outcome === 'ran');
      const cut = ticks.filter((tick) => tick.outcome !== 'ran');
      expect(cut.length).toBeLessThanOrEqual(1);
      if (cut.length === 1) {
        expect(cut[0]).toMatchObject({
          tickAt: ticks.at(-1)!.tickAt,
          outcome: 'failed',
          detail: 'cancelled: interrupted by SIGTERM',
        });
      }
      // On time: each claimed within its own 3 s (lateness is printed for the record).
      const lateness = ticks.map((tick) => tick.claimedAt - tick.tickAt);
      console.log(
        `${kind}: ${ticks.length} ticks, claimed late by ms: max ${Math.max(...lateness)}, median ${lateness.sort((a, b) => a - b)[lateness.length >> 1]}`,
      );
      expect(lateness.every((ms) => ms >= 0 && ms < 3_000)).toBe(true);
      // Once: each ran tick is its own successful run of the job, and no run is left over.
      const runs = await storage.jobRuns(dir);
      expect(ran.map((tick) => tick.runId).sort((a, b) => a! - b!)).toEqual(
        runs.filter((run) => run.status === 'success').map((run) => run.run_id),
      );
      // The cut tick's run, if it got that far, is the only other run: cancelled.
      const others = runs.filter((run) => run.status !== 'success');
      expect(others.length).toBeLessThanOrEqual(cut.length);
      expect(others.every((run) => run.status === 'cancelled')).toBe(true);
      expect(logLines(result.stderr).filter((line) => line.msg === 'tick ran')).toHaveLength(
        ran.length,
      );
    },
  );

  it('catches up the ticks missed while it was stopped by its policy (all, limit 2), before live ticks', async () => {
    const dir = tempDir();
    const file = writeServeConfig(
      dir,
      {
        live_job: { schedule: '*/2 * * * * *', catchup: 'all', catchup_limit: 2 },
        backfill_job: null,
      },
      { storage: kind },
    );
    const first = serve(file);
    await ticksDone(kind, dir, 'live_job', 2);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(143);
    const before = await claimedTicks(kind, dir, 'live_job');
    const lastBefore = before.at(-1)!.tickAt;
    // Stopped across at least three ticks.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    const second = serve(file);
    await waitFor(
      'a live tick after the restart',
      async () => {
        const ticks = await claimedTicks(kind, dir, 'live_job');
        return ticks.some((tick) => tick.tickAt > lastBefore && !tick.catchup && tick.outcome)
          ? true
          : undefined;
      },
      60_000,
      200,
    );
    second.child.kill('SIGTERM');
    const result = await second.exited;
    expect(result.code).toBe(143);
    const after = (await claimedTicks(kind, dir, 'live_job')).filter(
      (tick) => tick.tickAt > lastBefore,
    );
    const caughtUp = after.filter((tick) => tick.catchup);
    expect(caughtUp).toHaveLength(2);
    expect(caughtUp.every((tick) => tick.outcome === 'ran')).toBe(true);
    // The two newest missed ticks, consecutive, then the live ones; the older missed ones never run.
    expect(caughtUp[1]!.tickAt - caughtUp[0]!.tickAt).toBe(2_000);
    expect(after[0]).toEqual(caughtUp[0]);
    expect(after[1]).toEqual(caughtUp[1]);
    expect(caughtUp[0]!.tickAt - lastBefore).toBeGreaterThan(2_000);
    const missed = logLines(result.stderr).find((line) => line.msg.includes('missed, not run'));
    expect(missed?.missed).toBe((caughtUp[0]!.tickAt - lastBefore) / 2_000 - 1);
  });

  it('SIGTERM mid-run: the backfill commits only whole batches, is recorded cancelled, exit 143', async () => {
    const dir = tempDir();
    const service = startServe(
      dir,
      { backfill_job: { schedule: '*/2 * * * * *' }, live_job: null },
      {
        storage: kind,
        symbols: ['AAA', 'BBB', 'CCC', 'DDD'],
        maxBarsPerRequest: 200,
        batchSize: 70,
        latencyMs: 80,
      },
    );
    await waitFor(
      'two checkpoints',
      async () => ((await storage.countRows(dir, 'job_checkpoints')) >= 2 ? true : undefined),
      60_000,
    );
    service.child.kill('SIGTERM');
    const result = await service.exited;
    expect(result.code, result.stderr).toBe(143);
    const runs = await storage.jobRuns(dir);
    expect(runs.map((run) => run.status)).toEqual(['cancelled']);
    expect(runs[0]!.error).toContain('interrupted by SIGTERM');
    // Every stored bar came in a committed batch: rows_written matches the table.
    expect((await storage.barSnapshot(dir)).count).toBe(runs[0]!.rows_written);
    const [tick] = await claimedTicks(kind, dir, 'backfill_job');
    expect(tick).toMatchObject({ outcome: 'failed', detail: 'cancelled: interrupted by SIGTERM' });
  });
});

describe('mdp serve without anything to serve', () => {
  it('exits 2 saying which keys give a job a schedule or follow it', async () => {
    const dir = tempDir();
    const file = writeServeConfig(dir, {});
    const result = await runCli(['serve', '--config', file], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error [MDP_USAGE]: no job of ${file} has a schedule: or follow: true, so mdp serve has nothing to run; give a job schedule: "30 18 * * 1-5" (a cron expression) or, for a live job, follow: true\n`,
    );
  });
});
