/**
 * SIGINT while a run's first read waits on a PostgreSQL table lock (LOCK TABLE, VACUUM FULL and
 * ALTER TABLE take ACCESS EXCLUSIVE): a live run reads where each series stands (lastBarTs), a
 * backfill reads its job's checkpoints. Those reads used to take no signal, so SIGINT was
 * answered only when lock_timeout ended them (28 s measured); the README promises exit 130
 * within a second.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaForDir } from '../helpers/postgres-test-names.js';
import { testPostgresUrl, useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();
const db = useTestPostgresPool();

describe.each([
  { job: 'lv', read: 'lastBarTs', table: 'bars_ohlcv' },
  { job: 'bf', read: 'checkpoints', table: 'job_checkpoints' },
])('SIGINT while run $job waits ($read) on a locked $table', ({ job, table }) => {
  it('ends the run within seconds, recorded cancelled', async () => {
    const dir = tempDir();
    const schema = schemaForDir(dir);
    writeFileSync(
      join(dir, 'mdp.yaml'),
      `version: 2
providers:
  syn: { type: synthetic, seed: 1 }
storage:
  primary:
    type: postgres
    uri: '${testPostgresUrl()}'
    schema: ${schema}
    lock_timeout: 60s
datasets:
  ds: { provider: syn, symbols: [AAA], interval: 1m }
jobs:
  lv: { dataset: ds, mode: live }
  bf:
    dataset: ds
    mode: backfill
    backfill: { start: '2024-01-01T00:00:00Z', end: '2024-01-02T00:00:00Z' }
telemetry:
  metrics: { enabled: false }
`,
    );
    // Creates the schema's tables.
    const first = await runCli(['run', '--config', 'mdp.yaml', '--job', 'lv'], { cwd: dir });
    expect(first.code).toBe(0);
    const holder = await db().connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`LOCK TABLE "${schema}".${table} IN ACCESS EXCLUSIVE MODE`);
      const command = job === 'lv' ? 'run' : 'backfill';
      const child = spawnCli([command, '--config', 'mdp.yaml', '--job', job], { cwd: dir });
      const done = collect(child, 90_000);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const sent = Date.now();
      child.kill('SIGINT');
      const result = await done;
      const tookMs = Date.now() - sent;
      expect(result.code, result.stderr).toBe(130);
      expect(tookMs).toBeLessThan(5_000);
      expect(result.stderr).toMatch(/interrupted by SIGINT/);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    const runs = await db().query<{ status: string }>(
      `SELECT status FROM "${schema}".job_runs WHERE job_name = $1`,
      [job],
    );
    expect(runs.rows.map((row) => row.status)).toContain('cancelled');
  }, 120_000);
});
