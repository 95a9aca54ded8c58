/**
 * `config_hash` in job_runs (and `status --json`) identifies the config a run used without
 * revealing its secrets: it is taken over the config with them masked, so changing only a secret
 * leaves it as it was, and it holds nothing a guess of a secret could be checked against.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig } from '../helpers/test-config.js';
import { STORAGE_KINDS } from '../helpers/test-storage.js';

const tempDir = useTempDir();

describe.each(STORAGE_KINDS)('config_hash of runs on %s', (kind) => {
  /** Writes the test config with a polygon provider holding `apiKey` (defined, not used). */
  function writeConfig(dir: string, apiKey: string, seed = 7): string {
    const config = testConfig(dir, { storage: kind, end: '2024-01-01T02:00:00Z' });
    const providers = config.providers as Record<string, Record<string, unknown>>;
    (providers.synth as Record<string, unknown>).seed = seed;
    providers.poly = { type: 'polygon', api_key: apiKey };
    const file = join(dir, 'mdp.yaml');
    writeFileSync(file, stringify(config));
    return file;
  }

  it('stays the same when only a secret changes, and never shows the secret', async () => {
    const dir = tempDir();
    const keys = ['pk_first_0123456789', 'pk_second_9876543210'];
    for (const key of keys) {
      const config = writeConfig(dir, key);
      const run = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
      expect(run.code, run.stderr).toBe(0);
    }
    // A change to anything else is a different config.
    const config = writeConfig(dir, keys[1] as string, 8);
    expect((await runCli(['backfill', '--config', config, '--job', 'backfill_job'])).code).toBe(0);

    const status = await runCli(['status', '--config', config, '--json']);
    expect(status.code, status.stderr).toBe(0);
    for (const key of keys) expect(status.stdout).not.toContain(key);
    const { runs } = JSON.parse(status.stdout) as { runs: { config_hash: string }[] };
    const [seedChanged, secondKey, firstKey] = runs.map((run) => run.config_hash);
    expect(firstKey).toMatch(/^[0-9a-f]{64}$/);
    expect(secondKey).toBe(firstKey);
    expect(seedChanged).not.toBe(firstKey);
  });
});
