import { hostname as osHostname } from 'node:os';
import type { LivenessProbe } from './abandonment-reason.js';
import { isPidAlive } from './is-pid-alive.js';
import { currentBootId, currentPidNamespace, processStartTime } from './process-identity.js';

/**
 * Who is asking, for the abandonment rule: this process's clock, host name, boot, pid namespace
 * and pid table.
 */
export interface RunHost {
  readonly clock: () => number;
  readonly hostname: string;
  readonly isPidAlive: (pid: number) => boolean;
  /** Null where the host cannot say (no /proc): then only the host name tells hosts apart. */
  readonly bootId: string | null;
  readonly pidNamespace: string | null;
  /** When a live pid started (see processStartTime); null when unknown. */
  readonly processStart: (pid: number) => string | null;
}

/** The real host, with whatever a store's options inject (tests move time and kill pids). */
export function runHost(overrides: Partial<RunHost>): RunHost {
  return {
    clock: overrides.clock ?? Date.now,
    hostname: overrides.hostname ?? osHostname(),
    isPidAlive: overrides.isPidAlive ?? isPidAlive,
    bootId: overrides.bootId === undefined ? currentBootId() : overrides.bootId,
    pidNamespace:
      overrides.pidNamespace === undefined ? currentPidNamespace() : overrides.pidNamespace,
    processStart: overrides.processStart ?? processStartTime,
  };
}

/**
 * One reading of the host, so every run judged in one reap is judged at the same instant; `now`
 * is the time the store judges by (the database's clock on PostgreSQL).
 */
export function livenessProbe(host: RunHost, now: number = host.clock()): LivenessProbe {
  return {
    now,
    hostname: host.hostname,
    isPidAlive: host.isPidAlive,
    bootId: host.bootId,
    pidNamespace: host.pidNamespace,
    processStart: host.processStart,
  };
}
