import { hostname as osHostname } from 'node:os';
import type { LivenessProbe } from './abandonment-reason.js';
import { isPidAlive } from './is-pid-alive.js';

/** Who is asking, for the abandonment rule: this process's clock, host name and pid table. */
export interface RunHost {
  readonly clock: () => number;
  readonly hostname: string;
  readonly isPidAlive: (pid: number) => boolean;
}

/** The real host, with whatever a store's options inject (tests move time and kill pids). */
export function runHost(overrides: Partial<RunHost>): RunHost {
  return {
    clock: overrides.clock ?? Date.now,
    hostname: overrides.hostname ?? osHostname(),
    isPidAlive: overrides.isPidAlive ?? isPidAlive,
  };
}

/** One reading of the host, so every run judged in one reap is judged at the same instant. */
export function livenessProbe(host: RunHost): LivenessProbe {
  return { now: host.clock(), hostname: host.hostname, isPidAlive: host.isPidAlive };
}
