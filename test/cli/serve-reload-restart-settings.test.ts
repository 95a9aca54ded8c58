/**
 * SIGHUP with settings a running service cannot change: the store it has open, the metrics
 * server it has bound, the level its logger was built with. Before, a changed log_level was
 * neither applied nor listed as needing a restart, and a changed storage went into the running
 * config while the store stayed the old one. Now each is listed in the reload's log line and the
 * warning, and the old settings stay in force, consistently, until a restart.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { logLines, reloadServe, startServe, ticksDone } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { storagePrimary } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const kind = 'sqlite' as const;

describe('mdp serve: SIGHUP changing storage and log_level', { timeout: 120_000 }, () => {
  it('lists both as needing a restart and keeps the old ones in force', async () => {
    const dir = tempDir();
    const elsewhere = tempDir();
    const jobs = { live_job: { schedule: '*/2 * * * * *' }, backfill_job: null };
    const service = startServe(dir, jobs, { storage: kind });
    try {
      const before = await ticksDone(kind, dir, 'live_job', 1);
      const changed = parse(service.text({}, { logLevel: 'debug' })) as {
        storage: { primary: Record<string, unknown> };
      };
      changed.storage.primary = storagePrimary(kind, elsewhere);
      const reloaded = await reloadServe(service, service.file, stringify(changed));
      const linesBefore = logLines(service.stderr()).length;

      // Seen before: needRestart ['storage'] only; log_level silently not applied.
      expect([...(reloaded.needRestart as string[])].sort()).toEqual([
        'storage',
        'telemetry.log_level',
      ]);
      await waitFor('the restart warning', () =>
        logLines(service.stderr()).find((line) =>
          line.msg.startsWith('storage and telemetry.log_level changed'),
        ),
      );
      // The ticks keep going to the store that is open, and nothing is written elsewhere.
      await ticksDone(kind, dir, 'live_job', before.length + 2);
      expect(existsSync(join(elsewhere, 'data', 'test.db'))).toBe(false);
      // The logger keeps its level (info): no debug line after the reload.
      const after = logLines(service.stderr()).slice(linesBefore) as { level?: number }[];
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((line) => (line.level ?? 30) < 30)).toEqual([]);
    } finally {
      await service.stop();
    }
  });
});
