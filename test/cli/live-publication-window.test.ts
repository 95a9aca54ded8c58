/**
 * A live job whose `live.lookback` (or `live.max_catchup`) is not longer than its provider's
 * `publication_delay` would fetch nothing, ever: each cycle asks for [now - lookback,
 * now - delay), an empty window, and would report success with 0 rows. `mdp validate` (and every
 * command loading the config) refuses it, naming the key and its position.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();

function config(live: string): string {
  return `version: 2
providers:
  syn:
    type: synthetic
    seed: 1
    publication_delay: 30m
storage:
  primary:
    type: sqlite
    uri: 'sqlite:data/test.db'
datasets:
  ds:
    provider: syn
    symbols: [AAA]
    interval: 1m
jobs:
  live:
    dataset: ds
    mode: live
    live: { ${live} }
telemetry:
  metrics:
    enabled: false
`;
}

describe.each([
  ['lookback: 20m', 'live.lookback (20m)', 'jobs.live.live.lookback', 23],
  ['lookback: 2h, max_catchup: 10m', 'live.max_catchup (10m)', 'jobs.live.live.max_catchup', 40],
])('a live job with %s under a 30m publication_delay', (live, named, path, column) => {
  it('is refused by validate and run, naming the key, where it is and the delay', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mdp.yaml'), config(live));
    const validate = await runCli(['validate', '--config', 'mdp.yaml', '--no-connect'], {
      cwd: dir,
    });
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain(`mdp.yaml:20:${column} ${path}: ${named} is not longer than`);
    expect(validate.stderr).toContain('providers.syn.publication_delay (30m)');
    const run = await runCli(['run', '--config', 'mdp.yaml', '--job', 'live'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(named);
  });
});

it('a lookback longer than the delay passes, and the live run stores bars', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'mdp.yaml'), config('lookback: 2h'));
  const run = await runCli(['run', '--config', 'mdp.yaml', '--job', 'live'], { cwd: dir });
  expect(run.code).toBe(0);
  expect(run.stdout).not.toMatch(/success: 0 rows written/);
});
