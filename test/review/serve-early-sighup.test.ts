/**
 * Review (issue 13): `systemctl reload mdp` (deploy/mdp.service: ExecReload=/bin/kill -HUP
 * $MAINPID, Type=simple, so systemd allows a reload as soon as the process exists) in the first
 * second or two of `mdp serve`. serve-command installs its SIGHUP handler only after the config is
 * loaded, the store opened and migrated and the telemetry built; until then SIGHUP's default
 * action kills the process (exit by signal, 129), and systemd restarts it only after RestartSec
 * (15 s), the ticks of that span missed. Measured by hand: a SIGHUP 0.15 s, 0.4 s, 0.8 s and 1.2 s
 * after the start killed the service every time; at 2 s it was reloaded.
 */
import { describe, expect, it } from 'vitest';
import { logLines, serve, writeServeConfig } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();

describe('mdp serve: SIGHUP while starting', { timeout: 60_000 }, () => {
  it('is not killed by a reload sent while it starts', async () => {
    const dir = tempDir();
    const file = writeServeConfig(dir, {
      live_job: { schedule: '*/2 * * * * *' },
      backfill_job: null,
    });
    const service = serve(file);
    let ended = false;
    void service.exited.then(() => (ended = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    service.child.kill('SIGHUP');
    // Either the reload is applied once the service is up, or it is simply taken as the start.
    await waitFor(
      'the service serving (or its end)',
      () =>
        ended || logLines(service.stderr()).some((line) => line.msg.startsWith('serving '))
          ? true
          : undefined,
      30_000,
      100,
    );
    service.child.kill('SIGTERM');
    const result = await service.exited;
    // Seen: { code: null, signal: 'SIGHUP' }.
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 143, signal: null });
  });
});
