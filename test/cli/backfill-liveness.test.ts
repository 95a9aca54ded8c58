/**
 * Whether the process holding a job still lives, judged from the same host name: a pid reused by
 * a later process does not keep a dead run alive, and a container sharing the host name but not
 * the pid namespace is not judged by pids it does not share.
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { currentProcessIdentity } from '../../src/store/process-identity.js';
import type { ProcessIdentity } from '../../src/store/store.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig } from '../helpers/test-config.js';
import {
  openTestStore,
  STORAGE_KINDS,
  useTestStorage,
  type StorageKind,
} from '../helpers/test-storage.js';

const tempDir = useTempDir();
const HOST = hostname();

/** Records a run of backfill_job held by `pid` on this host name, beating once an hour. */
async function holdJob(kind: StorageKind, dir: string, pid: number, identity: ProcessIdentity) {
  const store = await openTestStore(kind, dir);
  try {
    return await store.startRun({
      jobName: 'backfill_job',
      mode: 'backfill',
      profile: null,
      dryRun: false,
      host: HOST,
      pid,
      configHash: 'x',
      params: {},
      heartbeatIntervalMs: 3_600_000,
      identity,
    });
  } finally {
    await store.close();
  }
}

describe.runIf(currentProcessIdentity().processStart !== null).each(STORAGE_KINDS)(
  'liveness of the run holding a job, on %s',
  (kind) => {
    const storage = useTestStorage(kind);

    it('a run whose pid now belongs to a later process is abandoned at once', async () => {
      const dir = tempDir();
      const config = writeTestConfig(dir, { storage: kind });
      // This test process lives, but it is not the process that recorded the run.
      const held = await holdJob(kind, dir, process.pid, {
        ...currentProcessIdentity(),
        processStart: '1',
      });
      const next = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
      expect(next.code, next.stderr).toBe(0);
      const runs = await storage.jobRuns(dir);
      expect(runs.map((run) => [run.run_id, run.status])).toEqual([
        [held.runId, 'abandoned'],
        [held.runId + 1, 'success'],
      ]);
      expect(runs[0]?.error).toBe(
        `process ${process.pid} on ${HOST} is gone (pid ${process.pid} now belongs to a process started later)`,
      );
    });

    it('a run from another pid namespace under the same host name is not judged by our pids', async () => {
      const dir = tempDir();
      const config = writeTestConfig(dir, { storage: kind });
      const exited = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
        encoding: 'utf8',
      });
      const pid = Number(exited.stdout.trim());
      // A container with our host name: its pid means nothing in our pid table.
      const held = await holdJob(kind, dir, pid, {
        ...currentProcessIdentity(),
        pidNamespace: 'pid:[4026500001]',
        processStart: '12345',
      });
      const blocked = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
      expect(blocked.code).toBe(1);
      expect(blocked.stderr).toContain(
        `[MDP_JOB_LOCKED]: job backfill_job is already running: run ${held.runId} (pid ${pid} on ${HOST}`,
      );
      expect((await storage.jobRuns(dir)).map((run) => run.status)).toEqual(['running']);
    });
  },
);
