/**
 * The JSON log lines on stderr as an operator reads them: an error logged with a warning carries
 * its type, code and message, and its stack only under --verbose; times are ISO-8601, not epoch
 * milliseconds.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig } from '../helpers/test-config.js';

const tempDir = useTempDir();
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

type LogLine = Record<string, unknown> & { msg: string; err?: Record<string, unknown> };

const logLines = (stderr: string): LogLine[] =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

/**
 * A backfill of about 7 s (past the 5 s heartbeat) whose heartbeats the database refuses: a
 * trigger aborts every update of a running row's heartbeat, so the run logs the store's error as a
 * warning (its end, which leaves `running`, is recorded as usual).
 */
async function backfillWithRefusedHeartbeats(verbose: boolean): Promise<LogLine[]> {
  const dir = tempDir();
  const config = writeTestConfig(dir, {
    logLevel: 'info',
    symbols: ['AAA'],
    end: '2024-01-01T12:00:00Z',
    maxBarsPerRequest: 60,
    latencyMs: 500,
    concurrency: 1,
  });
  const args = ['backfill', '--config', config, '--job', 'backfill_job'];
  // A dry run creates the tables the trigger goes on.
  expect((await runCli([...args, '--dry-run'])).code).toBe(0);
  const db = new SqliteDatabase(join(dir, 'data', 'test.db'));
  db.exec(`CREATE TRIGGER refuse_heartbeats BEFORE UPDATE OF heartbeat_at ON job_runs
    WHEN NEW.status = 'running'
    BEGIN SELECT RAISE(ABORT, 'heartbeats refused by a test trigger'); END`);
  db.close();
  const result = await runCli(verbose ? ['--verbose', ...args] : args, { timeoutMs: 60_000 });
  expect(result.code, result.stderr).toBe(0);
  return logLines(result.stderr);
}

describe('log lines on stderr', () => {
  it('a warning carries the error without its stack; --verbose adds the stack', async () => {
    const [plain, verbose] = await Promise.all([
      backfillWithRefusedHeartbeats(false),
      backfillWithRefusedHeartbeats(true),
    ]);
    const refused = (lines: LogLine[]): LogLine | undefined =>
      lines.find((line) => line.msg === 'could not record run progress');
    const warning = refused(plain);
    expect(warning?.err).toMatchObject({
      message: expect.stringContaining('heartbeats refused by a test trigger'),
      code: expect.stringMatching(/^MDP_STORE_/),
    });
    expect(warning?.err).not.toHaveProperty('stack');
    expect(plain.some((line) => JSON.stringify(line).includes('    at '))).toBe(false);
    expect(refused(verbose)?.err?.stack).toMatch(/\n\s+at /);
  }, 90_000);

  it('backfill starting names its window and each line its time in ISO-8601', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, { logLevel: 'info', end: '2024-01-01T02:00:00Z' });
    const result = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(result.code, result.stderr).toBe(0);
    const lines = logLines(result.stderr);
    const starting = lines.find((line) => line.msg === 'backfill starting');
    expect(starting).toMatchObject({
      start: '2024-01-01T00:00:00.000Z',
      end: '2024-01-01T02:00:00.000Z',
    });
    for (const line of lines) expect(line.time).toMatch(ISO);
  });
});
