import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();

/** A config of two synthetic providers alike but for `pacing.scope`. */
function writeConfig(dir: string): string {
  const file = join(dir, 'mdp.yaml');
  const pacing = { requests_per_minute: 60, burst: 2 };
  writeFileSync(
    file,
    stringify({
      version: 2,
      providers: {
        shared: { type: 'synthetic', pacing: { ...pacing, scope: 'store' } },
        alone: { type: 'synthetic', pacing: { ...pacing, scope: 'process' } },
      },
      storage: { primary: { type: 'sqlite', uri: `sqlite:${join(dir, 'data.db')}` } },
      datasets: { d: { provider: 'shared', symbols: ['SPY'], interval: '1m' } },
      jobs: {
        j: { dataset: 'd', mode: 'backfill', backfill: { start: '2023-01-02', end: '2023-01-03' } },
      },
      telemetry: { log_level: 'warn', metrics: { enabled: false } },
    }),
  );
  return file;
}

describe('mdp validate and pacing.scope', () => {
  it('tells a provider whose budget is shared through the store from one paced by the process alone', async () => {
    const result = await runCli(['validate', '--config', writeConfig(tempDir()), '--no-connect']);
    expect(result.code, result.stderr).toBe(0);
    const line = (name: string): string =>
      result.stdout.split('\n').find((l) => l.trimStart().startsWith(`${name} `)) ?? '';
    // Both lines read `pacing 60/min burst 2 cooldown 60s`: the one key that decides whether
    // several processes together exceed the provider's limit is not shown.
    expect(line('shared')).not.toBe(line('alone').replace('alone', 'shared'));
  });
});
