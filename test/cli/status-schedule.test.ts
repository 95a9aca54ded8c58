import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { writeServeConfig } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const TICK = Date.parse('2024-03-08T23:30:00Z');

describe.each(STORAGE_KINDS)('mdp status of served jobs, on %s', (kind) => {
  it("shows each job's schedule, next tick and last claimed tick, and followed jobs", async () => {
    const dir = tempDir();
    const file = writeServeConfig(
      dir,
      {
        backfill_job: { schedule: '30 18 * * 1-5', timezone: 'America/New_York' },
        live_job: { follow: true },
      },
      { storage: kind },
    );
    const store = await openTestStore(kind, dir);
    try {
      await store.ticks.claim('backfill_job', TICK, 'host-a:41:2024-03-08T20:00:00Z', {
        catchup: true,
      });
      await store.ticks.record('backfill_job', TICK, 'host-a:41:2024-03-08T20:00:00Z', {
        outcome: 'ran',
        runId: 3,
      });
    } finally {
      await store.close();
    }
    const text = await runCli(['status', '--config', file]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/\nJOB +SCHEDULE +NEXT TICK +LAST TICK\n/);
    expect(text.stdout).toMatch(
      /\nbackfill_job +30 18 \* \* 1-5 America\/New_York +\d{4}-\d\d-\d\dT2[23]:30:00Z +2024-03-08T23:30:00Z ran \(run 3\), catch-up\n/,
    );
    expect(text.stdout).toMatch(/\nlive_job +follow +- +-\n/);

    const json = await runCli(['status', '--config', file, '--json']);
    const jobs = (
      JSON.parse(json.stdout) as {
        jobs: { job_name: string; schedule: Record<string, unknown> | null; follow: boolean }[];
      }
    ).jobs;
    const backfill = jobs.find((job) => job.job_name === 'backfill_job');
    expect(backfill?.follow).toBe(false);
    expect(backfill?.schedule).toMatchObject({
      cron: '30 18 * * 1-5',
      timezone: 'America/New_York',
      last_tick: {
        tick_at: '2024-03-08T23:30:00Z',
        outcome: 'ran',
        run_id: 3,
        catchup: true,
        claimant: 'host-a:41:2024-03-08T20:00:00Z',
        detail: null,
      },
    });
    expect(String(backfill?.schedule?.next_tick)).toMatch(/T2[23]:30:00Z$/);
    expect(jobs.find((job) => job.job_name === 'live_job')).toMatchObject({
      schedule: null,
      follow: true,
    });
  });

  it('says a tick without an outcome is running only while its service beats', async () => {
    const dir = tempDir();
    const file = writeServeConfig(
      dir,
      {
        backfill_job: { schedule: '30 18 * * 1-5', timezone: 'America/New_York' },
        live_job: { schedule: '30 18 * * 1-5', timezone: 'America/New_York' },
      },
      { storage: kind },
    );
    const store = await openTestStore(kind, dir);
    try {
      // A service SIGKILLed after its claim: no outcome, and no beat of its claimant.
      await store.ticks.claim('backfill_job', TICK, 'dead-host:41:2024-03-08T20:00:00Z');
      await store.ticks.beat('live-host:7:2024-03-08T20:00:00Z');
      await store.ticks.claim('live_job', TICK, 'live-host:7:2024-03-08T20:00:00Z');
    } finally {
      await store.close();
    }
    const text = await runCli(['status', '--config', file]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /\nbackfill_job +.* 2024-03-08T23:30:00Z claimed by a service that stopped\n/,
    );
    expect(text.stdout).toMatch(/\nlive_job +.* 2024-03-08T23:30:00Z running\n/);
    const json = await runCli(['status', '--config', file, '--json']);
    const jobs = (
      JSON.parse(json.stdout) as {
        jobs: { job_name: string; schedule: { last_tick: Record<string, unknown> } }[];
      }
    ).jobs;
    expect(jobs.find((job) => job.job_name === 'backfill_job')?.schedule.last_tick).toMatchObject({
      outcome: null,
      claimant_alive: false,
    });
  });
});
