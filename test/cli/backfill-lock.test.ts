/**
 * One active run per job, between processes: simultaneous starts, a holder killed, and a holder
 * on another machine that went silent.
 */
import { describe, expect, it } from 'vitest';
import { barsInWindow } from '../../src/pipeline/runner/backfill-plan.js';
import { collect, runCli, spawnCli, type CliResult } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig } from '../helpers/test-config.js';
import { openTestStore, STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const PER_SYMBOL = barsInWindow(
  Date.parse('2024-01-01T00:00:00Z'),
  Date.parse('2024-01-03T00:00:00Z'),
  '1m',
);

describe.each(STORAGE_KINDS)('one run per job, on %s', (kind) => {
  const storage = useTestStorage(kind);
  const args = (config: string) => ['backfill', '--config', config, '--job', 'backfill_job'];

  it('two started at once: one runs, the other exits 1 naming it; killed, it blocks no one', async () => {
    const dir = tempDir();
    // 29 requests of 400 ms: the winner still runs when `mdp status` (a child process of its own,
    // slow to start on a loaded host) reads it; at 100 ms it had sometimes finished.
    const config = writeTestConfig(dir, { storage: kind, maxBarsPerRequest: 200, latencyMs: 400 });
    const children = [spawnCli(args(config)), spawnCli(args(config))];
    const exits = children.map((child) => collect(child));
    const first = await Promise.race(exits.map((exit, i) => exit.then(() => i)));
    const loser = (await exits[first]) as CliResult;
    const winner = children[1 - first];
    expect(loser.code).toBe(1);
    expect(loser.stderr).toMatch(
      /^error \[MDP_JOB_LOCKED\]: job backfill_job is already running: run 1 /m,
    );
    expect(loser.stderr).toContain(`pid ${winner?.pid}`);

    await waitFor('a checkpoint', async () =>
      (await storage.countRows(dir, 'job_checkpoints')) > 0 ? true : undefined,
    );
    // Status shows who holds the job, and how fresh its heartbeat is.
    const status = await runCli(['status', '--config', config, '--json', '--job', 'backfill_job']);
    const [job] = (JSON.parse(status.stdout) as { jobs: Record<string, unknown>[] }).jobs;
    expect(job?.running).toMatchObject({ run_id: 1, pid: winner?.pid });
    expect((job?.running as { heartbeat_age_seconds: number }).heartbeat_age_seconds).toBeLessThan(
      10,
    );
    winner?.kill('SIGKILL');
    await exits[1 - first];
    // The holder's process is gone: the third run marks it abandoned and goes at once.
    const third = await runCli(args(config), { timeoutMs: 60_000 });
    expect(third.code, third.stderr).toBe(0);
    expect((await storage.barSnapshot(dir)).perSymbol).toEqual({
      AAA: PER_SYMBOL,
      BBB: PER_SYMBOL,
    });
    const runs = await storage.jobRuns(dir);
    expect(runs.map((run) => [run.run_id, run.status])).toEqual([
      [1, 'abandoned'],
      [2, 'success'],
    ]);
    expect(runs[0]?.error).toContain(`process ${winner?.pid}`);
  });

  it('a holder on another host that stops beating blocks the job for three heartbeats, no more', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, { storage: kind });
    // Long enough that a child process started on a loaded machine still finds the holder fresh.
    const heartbeatIntervalMs = 2_000;
    const store = await openTestStore(kind, dir);
    const held = await store.startRun({
      jobName: 'backfill_job',
      mode: 'backfill',
      profile: null,
      dryRun: false,
      host: 'a-host-that-crashed',
      pid: 4242,
      configHash: 'x',
      params: {},
      heartbeatIntervalMs,
    });
    await store.close();

    const blocked = await runCli(args(config));
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('MDP_JOB_LOCKED');
    expect(blocked.stderr).toContain(`run ${held.runId} (pid 4242 on a-host-that-crashed`);
    expect(blocked.stderr).toMatch(/marked abandoned once it misses 3 heartbeats \(6s without one/);

    const free = held.heartbeatAt + 3 * heartbeatIntervalMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, free - Date.now() + 50)));
    const next = await runCli(args(config));
    expect(next.code, next.stderr).toBe(0);
    const runs = await storage.jobRuns(dir);
    expect(runs.map((run) => run.status)).toEqual(['abandoned', 'success']);
    expect(runs[0]?.error).toMatch(/^no heartbeat for [\d.]+s \(expected every 2s\)$/);
  });
});
