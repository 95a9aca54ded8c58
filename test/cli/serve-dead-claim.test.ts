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
import { useFixtureServer } from '../helpers/fixture-server.js';
import { heldTickServices } from '../helpers/held-tick-services.js';
import { claimedTicks, logLines } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const fixtureServer = useFixtureServer();

describe.each(STORAGE_KINDS)(
  'two services on one %s store, one SIGKILLed holding a claimed tick',
  { timeout: 240_000 },
  (kind) => {
    const storage = useTestStorage(kind);

    it('the running survivor adopts the tick once the dead one stops beating, runs it once, and says so', async () => {
      const dir = tempDir();
      const held = await heldTickServices(kind, dir, fixtureServer);
      const { claimed, tickAt, services } = held;
      try {
        expect(claimed).toMatchObject({ tickAt, outcome: null, claimantAlive: true });
        const killed = held.holder;
        const survivor = held.other;
        killed.child.kill('SIGKILL');
        const killedAt = Date.now();
        expect((await killed.exited).signal).toBe('SIGKILL');
        held.passLater();
        held.release();

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

        const metrics = await (await fetch(`http://127.0.0.1:${held.otherPort}/metrics`)).text();
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
          claimant: claimed.claimant,
        });
        expect(runs[1]!.rows_written).toBeGreaterThan(0);
        expect((await storage.barSnapshot(dir)).count).toBe(runs[1]!.rows_written);
      } finally {
        held.release();
        for (const service of services) service.child.kill('SIGKILL');
        await Promise.allSettled(services.map((service) => service.exited));
      }
    });
  },
);
