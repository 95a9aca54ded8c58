import type { RunStart } from '../../src/store/store.js';

/**
 * A run of `jobName` started by another host's process: once its heartbeat is stale, a reaper on
 * this host (hostname 'this-host') marks it abandoned.
 */
export function foreignRunStart(jobName: string): RunStart {
  return {
    jobName,
    mode: 'backfill',
    profile: null,
    dryRun: false,
    host: 'other-host',
    pid: 4242,
    configHash: 'h',
    params: {},
    heartbeatIntervalMs: 1000,
  };
}
