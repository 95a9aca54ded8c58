import { CLAIM_LEASE_MS } from '../../src/store/tick-claims.js';
import { ADOPT_SWEEP_MS } from '../../src/service/scheduler.js';
import type { TickRecord } from '../../src/store/tick-claims.js';
import { polygonFakeApi } from '../providers/polygon/polygon-fake-api.js';
import { POLYGON_TEST_KEY } from './concurrent-backfills.js';
import type { FixtureHandler, FixtureServer } from './fixture-server.js';
import { freePort } from './free-port.js';
import { writePolygonServeConfig } from './polygon-serve-config.js';
import { claimedTicks, onceAt, serve, type Served } from './serve-config.js';
import type { StorageKind } from './test-storage.js';
import { waitFor } from './wait-for.js';

/** Two services on one store, one of them inside its run of the one tick, held at the provider. */
export interface HeldTickServices {
  readonly server: FixtureServer;
  readonly tickAt: number;
  readonly ports: readonly number[];
  /** The claim as read once the claimant's run reached the provider. */
  readonly claimed: TickRecord;
  /** The service that claimed the tick and whose run is held, and its port. */
  readonly holder: Served;
  readonly holderPort: number;
  /** The other one. */
  readonly other: Served;
  readonly otherPort: number;
  readonly services: readonly Served[];
  /** Lets later requests through at once (the held one stays held until `release`). */
  passLater(): void;
  /** Answers the held request. */
  release(): void;
}

/**
 * Starts two `mdp serve` processes on one store with one backfill tick of job `spy_backfill` (12 s
 * on, catchup: latest) against a local polygon whose first request is held; returns once the
 * tick's claimant is inside its run. Stop the services in a `finally`.
 */
export async function heldTickServices(
  kind: StorageKind,
  dir: string,
  fixtureServer: (handler: FixtureHandler) => Promise<FixtureServer>,
): Promise<HeldTickServices> {
  const api = polygonFakeApi({ apiKey: POLYGON_TEST_KEY, pageSize: 200 });
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
      // Up to the tick, the lease and a sweep, then the runs.
      CLAIM_LEASE_MS + ADOPT_SWEEP_MS + 150_000,
    ),
  );
  const passLater = (): void => {
    holding = false;
  };
  try {
    await waitFor(
      "the claimant's run at the provider",
      () => (server.requests.length > 0 ? true : undefined),
      30_000,
    );
    const [claimed] = await claimedTicks(kind, dir, 'spy_backfill');
    const index = services.findIndex(
      (service) => claimed?.claimant.split(':')[1] === String(service.child.pid),
    );
    if (claimed === undefined || index < 0) {
      throw new Error(`no service holds the tick: ${JSON.stringify(claimed)}`);
    }
    return {
      server,
      tickAt,
      ports,
      claimed,
      holder: services[index] as Served,
      holderPort: ports[index] as number,
      other: services[1 - index] as Served,
      otherPort: ports[1 - index] as number,
      services,
      passLater,
      release,
    };
  } catch (error: unknown) {
    release();
    for (const service of services) service.child.kill('SIGKILL');
    throw error;
  }
}
