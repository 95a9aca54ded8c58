/**
 * Two `mdp serve` processes on one store; the one that claims a tick is SIGKILLed while its run
 * of that tick is held on the provider's (local) server, so the claim stays without an outcome.
 * The other service, already running, adopts the tick once the dead one's beat is older than the
 * lease, runs it once (its catch-up policy: the newest orphan, `latest`) and says so in its log and
 * metrics. Both stores, as child processes.
 */
import { describe, expect, it } from 'vitest';
import { CLAIM_BEAT_MS, CLAIM_LEASE_MS } from '../../src/store/tick-claims.js';
import { ADOPT_SWEEP_MS } from '../../src/service/scheduler.js';
import { POLYGON_TEST_KEY } from '../helpers/concurrent-backfills.js';
import { useFixtureServer } from '../helpers/fixture-server.js';
import { freePort } from '../helpers/free-port.js';
import { claimedTicks, logLines, serve } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';
import { writePolygonServeConfig } from '../helpers/polygon-serve-config.js';
import { waitFor } from '../helpers/wait-for.js';
import { polygonFakeApi } from '../providers/polygon/polygon-fake-api.js';

const tempDir = useTempDir();
const fixtureServer = useFixtureServer();

/** A six-field cron expression firing once (a year) at `ms`, UTC. */
function onceAt(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
}

describe.each(STORAGE_KINDS)(
  'two services on one %s store, one SIGKILLed holding a claimed tick',
  { timeout: 240_000 },
  (kind) => {
    const storage = useTestStorage(kind);

    it('the running survivor adopts the tick once the dead one stops beating, runs it once, and says so', async () => {
      const dir = tempDir();
      const api = polygonFakeApi({ apiKey: POLYGON_TEST_KEY, pageSize: 200 });
      // The first request is held until the test lets go: the claimant is killed inside its run.
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let holding = true;
      const server = await fixtureServer(async (request) => {
        if (holding) await held;
        return api(request);
      });
      // Time for both services to start before the one tick.
      const tickAt = Math.ceil(Date.now() / 1000) * 1000 + 12_000;
      const ports = [await freePort(), await freePort()];
      const services = ports.map((port, i) =>
        serve(
          writePolygonServeConfig(dir, `service${i}`, {
            storage: kind,
            baseUrl: server.url,
            port,
            jobs: {
              spy_backfill: {
                symbols: ['SPY'],
                job: {
                  mode: 'backfill',
                  backfill: { start: '2023-01-03', end: '2023-01-04' },
                  schedule: onceAt(tickAt),
                  timezone: 'UTC',
                  catchup: 'latest',
                },
              },
            },
          }),
          [],
          // Up to the tick, the lease and a sweep, then the run.
          CLAIM_LEASE_MS + ADOPT_SWEEP_MS + 120_000,
        ),
      );
      try {
        await waitFor(
          "the claimant's run at the provider",
          () => (server.requests.length > 0 ? true : undefined),
          30_000,
        );
        const [claimed] = await claimedTicks(kind, dir, 'spy_backfill');
        expect(claimed).toMatchObject({ tickAt, outcome: null, claimantAlive: true });
        const killedIndex = services.findIndex(
          (service) => claimed!.claimant.split(':')[1] === String(service.child.pid),
        );
        expect(killedIndex).toBeGreaterThanOrEqual(0);
        const killed = services[killedIndex]!;
        const survivor = services[1 - killedIndex]!;
        killed.child.kill('SIGKILL');
        const killedAt = Date.now();
        expect((await killed.exited).signal).toBe('SIGKILL');
        holding = false;
        release();

        const ran = await waitFor(
          'the tick run by the survivor',
          async () => {
            const [tick] = await claimedTicks(kind, dir, 'spy_backfill');
            return tick?.outcome === null ? undefined : tick;
          },
          CLAIM_LEASE_MS + ADOPT_SWEEP_MS + 60_000,
          500,
        );
        expect(ran).toMatchObject({ tickAt, outcome: 'ran', catchup: true, claimantAlive: true });
        expect(ran.claimant.split(':')[1]).toBe(String(survivor.child.pid));
        // Adopted only once the dead claimant's beat (at most a beat before the kill) was older
        // than the lease, and at the survivor's first sweep after that.
        const adoptedAfterMs = ran.claimedAt - killedAt;
        console.log(`${kind}: adopted ${adoptedAfterMs} ms after the kill`);
        expect(adoptedAfterMs).toBeGreaterThanOrEqual(CLAIM_LEASE_MS - CLAIM_BEAT_MS - 1_000);
        expect(adoptedAfterMs).toBeLessThanOrEqual(CLAIM_LEASE_MS + ADOPT_SWEEP_MS + 5_000);

        const metrics = await (
          await fetch(`http://127.0.0.1:${ports[1 - killedIndex]}/metrics`)
        ).text();
        expect(metrics).toMatch(
          /^pipeline_schedule_ticks_adopted_total\{job_name="spy_backfill"\} 1$/m,
        );
        expect(metrics).toMatch(
          /^pipeline_schedule_ticks_total\{job_name="spy_backfill",outcome="ran"\} 1$/m,
        );
        survivor.child.kill('SIGTERM');
        const result = await survivor.exited;
        expect(result.code, result.stderr).toBe(143);

        // One tick, run once: the dead service's run abandoned, the survivor's the tick's run.
        expect(await claimedTicks(kind, dir, 'spy_backfill')).toHaveLength(1);
        const runs = await storage.jobRuns(dir);
        expect(runs.map((run) => run.status)).toEqual(['abandoned', 'success']);
        expect(ran.runId).toBe(runs[1]!.run_id);
        const lines = logLines(result.stderr);
        expect(lines.filter((line) => line.msg === 'tick ran')).toHaveLength(1);
        const adopted = lines.filter((line) => line.msg.startsWith('tick adopted'));
        expect(adopted).toHaveLength(1);
        expect(adopted[0]).toMatchObject({
          job: 'spy_backfill',
          tick: new Date(tickAt).toISOString(),
          claimant: claimed!.claimant,
        });
        expect(runs[1]!.rows_written).toBeGreaterThan(0);
        expect((await storage.barSnapshot(dir)).count).toBe(runs[1]!.rows_written);
      } finally {
        release();
        for (const service of services) service.child.kill('SIGKILL');
        await Promise.allSettled(services.map((service) => service.exited));
      }
    });
  },
);
