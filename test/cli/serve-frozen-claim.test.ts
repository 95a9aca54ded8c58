/**
 * Two `mdp serve` processes on one store; the one that claims a tick is frozen (SIGSTOP) while
 * its run of that tick is held on the provider's (local) server. The other adopts the tick once
 * the frozen one's beat is older than the lease and runs it. Resumed (SIGCONT), the frozen one's
 * run is superseded and its tick taken over: it says so, counts it `taken` (not a failure), and
 * leaves the adopter's record alone. Both stores, as child processes.
 */
import { describe, expect, it } from 'vitest';
import { CLAIM_LEASE_MS } from '../../src/store/tick-claims.js';
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
  'two services on one %s store, one frozen past the lease holding a claimed tick',
  { timeout: 240_000 },
  (kind) => {
    const storage = useTestStorage(kind);

    it('resumed, the frozen one neither records over the adopter nor counts a failure, and says it was judged dead', async () => {
      const dir = tempDir();
      const held = await heldTickServices(kind, dir, fixtureServer);
      const { tickAt, services } = held;
      try {
        const frozen = held.holder;
        const adopter = held.other;
        frozen.child.kill('SIGSTOP');
        // The adopter's requests pass; the frozen one's stays held until after the adoption.
        held.passLater();

        const ran = await waitFor(
          'the tick run by the adopter',
          async () => {
            const [tick] = await claimedTicks(kind, dir, 'spy_backfill');
            return tick?.outcome === null ? undefined : tick;
          },
          CLAIM_LEASE_MS + ADOPT_SWEEP_MS + 60_000,
          500,
        );
        expect(ran).toMatchObject({ tickAt, outcome: 'ran', catchup: true });
        expect(ran.claimant.split(':')[1]).toBe(String(adopter.child.pid));

        held.release();
        frozen.child.kill('SIGCONT');
        await waitFor(
          'the resumed service to find its tick taken over',
          () =>
            logLines(frozen.stderr()).some((line) => line.msg.startsWith('tick taken over'))
              ? true
              : undefined,
          60_000,
          200,
        );
        const metrics = await (await fetch(`http://127.0.0.1:${held.holderPort}/metrics`)).text();
        expect(metrics).toMatch(
          /^pipeline_schedule_ticks_total\{job_name="spy_backfill",outcome="taken"\} 1$/m,
        );
        expect(metrics).toMatch(
          /^pipeline_schedule_ticks_total\{job_name="spy_backfill",outcome="failed"\} 0$/m,
        );
        for (const service of services) service.child.kill('SIGTERM');
        const [frozenEnd, adopterEnd] = [await frozen.exited, await adopter.exited];
        expect(frozenEnd.code, frozenEnd.stderr).toBe(143);
        expect(adopterEnd.code, adopterEnd.stderr).toBe(143);

        // The tick is the adopter's, run once: the frozen run abandoned (superseded).
        const [tick, ...more] = await claimedTicks(kind, dir, 'spy_backfill');
        expect(more).toEqual([]);
        expect(tick).toMatchObject({ claimant: ran.claimant, outcome: 'ran', runId: ran.runId });
        const runs = await storage.jobRuns(dir);
        expect(runs.map((run) => run.status)).toEqual(['abandoned', 'success']);
        expect(ran.runId).toBe(runs[1]!.run_id);
        const lines = logLines(frozenEnd.stderr);
        expect(lines.filter((line) => line.msg.startsWith('tick failed'))).toEqual([]);
        const judged = lines.filter((line) => line.msg.startsWith('this service was judged dead'));
        expect(judged).toHaveLength(1);
        expect(judged[0]!.silent_ms).toBeGreaterThan(CLAIM_LEASE_MS);
        const taken = lines.filter((line) => line.msg.startsWith('tick taken over'));
        expect(taken).toHaveLength(1);
        expect(taken[0]).toMatchObject({
          job: 'spy_backfill',
          tick: new Date(tickAt).toISOString(),
        });
        expect(taken[0]!.msg).toContain('was superseded');
      } finally {
        held.release();
        for (const service of services) {
          service.child.kill('SIGCONT');
          service.child.kill('SIGKILL');
        }
        await Promise.allSettled(services.map((service) => service.exited));
      }
    });
  },
);
