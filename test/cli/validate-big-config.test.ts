import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';

/** A valid config of at least `lines` lines: many providers, datasets and jobs. */
function bigConfig(lines: number): { text: string; datasets: number; jobs: number } {
  const head = [
    'version: 2',
    'providers:',
    ...Array.from({ length: 10 }, (_, p) => [
      `  synthetic_${p}:`,
      '    type: synthetic',
      `    seed: ${p}`,
      '    pacing: { requests_per_minute: 600, burst: 10 }',
    ]).flat(),
    'storage:',
    '  primary:',
    '    type: sqlite',
    '    uri: "sqlite:data/big.db"',
  ];
  // Each dataset and its two jobs take 16 lines.
  const count = Math.ceil((lines - head.length) / 16);
  const datasets = ['datasets:'];
  const jobs = ['jobs:'];
  for (let i = 0; i < count; i += 1) {
    datasets.push(
      `  set_${i}:`,
      `    provider: synthetic_${i % 10}`,
      `    symbols: [S${i}A, S${i}B]`,
      `    interval: ${['1m', '5m', '1h', '1d'][i % 4]}`,
    );
    jobs.push(
      `  live_${i}:`,
      `    dataset: set_${i}`,
      '    mode: live',
      '    live: { lookback: 2h }',
      '    execution: { concurrency: 2 }',
      `  backfill_${i}:`,
      `    dataset: set_${i}`,
      '    mode: backfill',
      '    backfill:',
      '      start: "2024-01-01T00:00:00Z"',
      '      end: "2024-02-01T00:00:00Z"',
      '    execution: { concurrency: 4, retry: { max_attempts: 5, backoff_seconds: 1 } }',
    );
  }
  const text = [...head, ...datasets, ...jobs, ''].join('\n');
  return { text, datasets: count, jobs: count * 2 };
}

describe('mdp validate on a 10,000-line config', () => {
  const tempDir = useTempDir();

  it('validates it and summarises every dataset and job', async () => {
    const { text, datasets, jobs } = bigConfig(10_000);
    expect(text.split('\n').length).toBeGreaterThanOrEqual(10_000);
    const dir = tempDir();
    writeFileSync(join(dir, 'big.yaml'), text);
    const result = await runCli(['validate', '--config', 'big.yaml'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`datasets (${datasets}):`);
    expect(result.stdout).toContain(`jobs (${jobs}):`);
    expect(result.stdout).toContain(`  set_${datasets - 1}  synthetic_${(datasets - 1) % 10}  `);
    expect(result.stdout).toContain(
      `  backfill_${datasets - 1}  backfill  set_${datasets - 1}  2024-01-01T00:00:00Z → 2024-02-01T00:00:00Z  concurrency 4`,
    );
  });

  it('reports an error deep in it at the right line', async () => {
    const { text } = bigConfig(10_000);
    const broken = text.replace('    dataset: set_600\n', '    dataset: set_6000\n');
    const line = broken.split('\n').indexOf('    dataset: set_6000') + 1;
    const dir = tempDir();
    writeFileSync(join(dir, 'big.yaml'), broken);
    const result = await runCli(['validate', '--config', 'big.yaml'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `big.yaml:${line}:14 jobs.live_600.dataset: unknown dataset "set_6000"`,
    );
    expect(line).toBeGreaterThan(5_000);
  });
});
