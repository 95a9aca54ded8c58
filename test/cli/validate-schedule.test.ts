import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig } from '../helpers/test-config.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

describe('mdp validate with schedules', () => {
  const tempDir = useTempDir();

  /** A test config whose jobs get `jobs` merged in. */
  function configWith(dir: string, jobs: Record<string, Record<string, unknown>>): string {
    const file = writeTestConfig(dir);
    const config = parse(readFileSync(file, 'utf8')) as { jobs: Record<string, object> };
    for (const [name, extra] of Object.entries(jobs)) {
      config.jobs[name] = { ...config.jobs[name], ...extra };
    }
    writeFileSync(file, stringify(config));
    return file;
  }

  it("prints each scheduled job's expression, zone, next ticks and policies, and followed jobs", async () => {
    const dir = tempDir();
    // 29 February, midnight in New York: the next two are leap days, far apart and in winter time.
    const file = configWith(dir, {
      backfill_job: {
        schedule: '0 0 29 2 *',
        timezone: 'America/New_York',
        catchup: 'all',
        catchup_limit: 4,
        overlap: 'wait',
      },
      live_job: { follow: true },
    });
    const result = await runCli(['validate', '--config', file, '--no-connect'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      '  live_job  live  ds  lookback 2h  concurrency 2\n    follow: mdp serve runs it continuously\n',
    );
    expect(result.stdout).toContain(
      '    schedule "0 0 29 2 *" America/New_York  next 2028-02-29T05:00:00Z, 2032-02-29T05:00:00Z  catchup all (up to 4)  overlap wait\n',
    );
  });

  it("refuses a bad expression naming the job and the key, with croner's reason, exit 2", async () => {
    const dir = tempDir();
    const file = configWith(dir, { backfill_job: { schedule: '0 25 * * *' } });
    const result = await runCli(['validate', '--config', file, '--no-connect'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /mdp\.yaml:\d+:\d+ jobs\.backfill_job\.schedule: "0 25 \* \* \*" is not a cron expression \(Invalid value for hour: 25\)/,
    );
  });

  it.each([
    [
      'sample.yaml',
      [
        /\n {2}synthetic_live {2}live .*\n {4}schedule "\* \* \* \* \*" UTC {2}next \S+, \S+ {2}catchup latest {2}overlap skip\n/,
        /\n {2}synthetic_backfill {2}backfill .*\n {4}schedule "0 2 \* \* \*" UTC {2}next \S+T02:00:00Z, \S+T02:00:00Z {2}catchup latest {2}overlap skip\n/,
      ],
    ],
    [
      'base.yaml',
      [
        /\n {2}live_us_equities {2}live .*\n {4}follow: mdp serve runs it continuously\n/,
        // 18:30 in New York is 23:30Z in winter time, 22:30Z in summer time.
        /\n {2}spy_1day_backfill {2}backfill .*\n {4}schedule "30 18 \* \* 1-5" America\/New_York {2}next \S+T2[23]:30:00Z, \S+T2[23]:30:00Z {2}catchup latest {2}overlap skip\n/,
      ],
    ],
  ])('the shipped %s carries schedules, and validates', async (file, lines) => {
    const path = fileURLToPath(new URL(`../../configs/${file}`, import.meta.url));
    const result = await runCli(['validate', '--config', path, '--no-connect'], {
      cwd: tempDir(),
      env: { POLYGON_API_KEY: 'pk_test' },
    });
    expect(result.code, result.stderr).toBe(0);
    for (const line of lines) expect(result.stdout).toMatch(line);
  });
});
