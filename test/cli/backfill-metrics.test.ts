import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExposition, samplesOf, valueOf, type Exposition } from '../helpers/exposition.js';
import { freePort, occupyPort } from '../helpers/free-port.js';
import { INSTALL_HINT, PROMTOOL_INSTALLED, promtool } from '../helpers/promtool.js';
import { startPushRecorder, type PushRecorder } from '../helpers/push-recorder.js';
import { REQUIRED_SERIES } from '../helpers/required-series.js';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { jobRuns as allRuns, openTestDb, type RunRow } from '../helpers/sqlite-db.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig } from '../helpers/test-config.js';

const tempDir = useTempDir();
const recorders: PushRecorder[] = [];
afterEach(async () => {
  await Promise.all(recorders.splice(0).map((recorder) => recorder.close()));
});

async function pushgateway(options: Parameters<typeof startPushRecorder>[0] = {}) {
  const recorder = await startPushRecorder(options);
  recorders.push(recorder);
  return recorder;
}

/** GET `url`: the body of a 200, or undefined when nothing listens (yet, or any more). */
function scrape(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    request(url, { agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
    })
      .on('error', () => resolve(undefined))
      .end();
  });
}

/** job_runs rows with the times the metrics are compared with (epoch ms). */
function jobRuns(dir: string) {
  return allRuns(dir) as (RunRow & { started_at: number; completed_at: number | null })[];
}

/** job_checkpoints rows of chunks recorded incomplete. */
function incompleteCheckpoints(dir: string): number {
  const db = openTestDb(dir);
  try {
    const query = 'SELECT COUNT(*) AS n FROM job_checkpoints WHERE complete = 0';
    return (db.prepare(query).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** pino's JSON lines on stderr at level warn. */
function warnings(stderr: string): { msg: string; code?: string }[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string; code?: string })
    .filter((line) => line.level === 40);
}

// Long enough to scrape mid-run: 2 symbols × 2 days in pages of 240 bars = 24 requests of 250 ms,
// two at a time, about 3 s.
const SLOW_BACKFILL = { latencyMs: 250, maxBarsPerRequest: 240, concurrency: 2 };

let midRunPage: string | undefined;

describe('mdp backfill with metrics', () => {
  it('serves every series on /metrics while it runs, then pushes final values that match job_runs', async () => {
    const dir = tempDir();
    const gateway = await pushgateway();
    // The config's port is taken: only --metrics-port can make the scrapes below work.
    const taken = await occupyPort();
    const port = await freePort();
    const config = writeTestConfig(dir, {
      ...SLOW_BACKFILL,
      metrics: { port: taken.port, pushgatewayUrl: gateway.url },
    });
    const child = spawnCli([
      'backfill',
      '--config',
      config,
      '--job',
      'backfill_job',
      '--metrics-port',
      String(port),
    ]);
    const done = collect(child);
    let exited = false;
    void done.then(() => (exited = true));
    const pages: Exposition[] = [];
    try {
      while (!exited) {
        const body = await scrape(`http://127.0.0.1:${port}/metrics`);
        if (body !== undefined) {
          midRunPage = body;
          pages.push(parseExposition(body));
        }
        await sleep(100);
      }
    } finally {
      await taken.release();
    }
    const result = await done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    // While it ran: every series, with its type and labels.
    expect(pages.length, 'pages scraped while it ran').toBeGreaterThan(0);
    const page = pages.at(-1) as Exposition;
    for (const [name, { type, labels }] of Object.entries(REQUIRED_SERIES)) {
      expect(page.types.get(name), name).toBe(type);
      const samples = page.samples.filter(
        (sample) => sample.name.replace(/_(bucket|sum|count)$/, '') === name,
      );
      // Storage errors and the last success appear with their first event; all else is there.
      const appearsLater =
        name === 'pipeline_storage_errors_total' ||
        name === 'pipeline_job_last_success_timestamp_seconds';
      if (!appearsLater) expect(samples.length, name).toBeGreaterThan(0);
      for (const sample of samples) {
        const names = Object.keys(sample.labels).filter((label) => label !== 'le');
        expect(names.sort(), name).toEqual([...labels].sort());
      }
    }
    // A scrape may land between the run's end and the server's stop; the others saw it active.
    const ended = { job_name: 'backfill_job', status: 'success' };
    const during = pages.filter((seen) => valueOf(seen, 'pipeline_job_runs_total', ended) === 0);
    expect(during.length).toBeGreaterThan(3);
    for (const seen of during) {
      expect(valueOf(seen, 'pipeline_active_jobs', { job_name: 'backfill_job' })).toBe(1);
      expect(valueOf(seen, 'pipeline_active_jobs', { job_name: 'live_job' })).toBe(0);
    }
    const rowsSeen = pages.map((seen) =>
      valueOf(seen, 'pipeline_rows_written_total', { job_name: 'backfill_job', provider: 'synth' }),
    );
    expect(rowsSeen).toEqual([...rowsSeen].sort((a, b) => a - b));
    expect(rowsSeen.at(-1)).toBeGreaterThan(0);
    expect(samplesOf(page, 'process_cpu_user_seconds_total')).toHaveLength(1);

    // After it ran: the pushed final values agree with its job_runs row.
    const [run] = jobRuns(dir);
    expect(run?.status).toBe('success');
    expect(gateway.pushes.map((push) => [push.method, push.path])).toEqual([
      ['PUT', '/metrics/job/backfill_job'],
    ]);
    const final = parseExposition(gateway.pushes[0]?.body ?? '');
    const job = { job_name: 'backfill_job' };
    const written = { ...job, provider: 'synth' };
    expect(valueOf(final, 'pipeline_job_runs_total', { ...job, status: 'success' })).toBe(1);
    expect(valueOf(final, 'pipeline_job_runs_total', { ...job, status: 'failure' })).toBe(0);
    expect(valueOf(final, 'pipeline_rows_written_total', written)).toBe(run?.rows_written);
    expect(valueOf(final, 'pipeline_rows_written_total', written)).toBe(5760);
    expect(valueOf(final, 'pipeline_batches_total', written)).toBe(run?.batches);
    expect(valueOf(final, 'pipeline_backfill_incomplete_chunks_total', written)).toBe(0);
    expect(valueOf(final, 'pipeline_active_jobs', job)).toBe(0);
    expect(
      valueOf(final, 'pipeline_provider_requests_total', { provider: 'synth', status: 'ok' }),
    ).toBe(24);
    expect(
      valueOf(final, 'pipeline_job_duration_seconds_count', { ...job, mode: 'backfill' }),
    ).toBe(1);
    const completedAt = (run?.completed_at ?? 0) / 1000;
    const startedAt = (run?.started_at ?? 0) / 1000;
    expect(valueOf(final, 'pipeline_job_last_success_timestamp_seconds', job)).toBeCloseTo(
      completedAt,
      0,
    );
    const heartbeat = valueOf(final, 'pipeline_job_heartbeat_timestamp_seconds', job);
    expect(heartbeat).toBeGreaterThanOrEqual(startedAt);
    expect(heartbeat).toBeLessThanOrEqual(completedAt);
  });

  it.skipIf(!PROMTOOL_INSTALLED)(
    `promtool check metrics passes on the page scraped from the running CLI (skipped when promtool is ${INSTALL_HINT})`,
    () => {
      expect(midRunPage, 'the test above scraped a page').toBeDefined();
      const result = promtool(['check', 'metrics'], midRunPage);
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    },
  );

  it('a port in use and a refused push are warnings on stderr; the job succeeds', async () => {
    const dir = tempDir();
    const taken = await occupyPort();
    const gateway = await pushgateway({ status: 500 });
    try {
      const config = writeTestConfig(dir, {
        metrics: { port: taken.port, pushgatewayUrl: gateway.url },
      });
      const result = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^run 1 backfill_job success: 5,760 rows written/m);
      expect(warnings(result.stderr)).toEqual(
        [
          {
            code: 'MDP_TELEMETRY_PORT_IN_USE',
            msg: `cannot serve /metrics on 127.0.0.1:${taken.port}: the port is already in use; set telemetry.metrics.port (or pass --metrics-port) to a free port; the job goes on without /metrics`,
          },
          {
            code: 'MDP_TELEMETRY_PUSH',
            msg: `could not push metrics to the Pushgateway at ${gateway.url}: push failed with status 500; the run itself is unaffected`,
          },
        ].map((expected) => expect.objectContaining(expected)),
      );
    } finally {
      await taken.release();
    }
  });

  it('a failed run is pushed too, with the last success read from job_runs', async () => {
    const dir = tempDir();
    const gateway = await pushgateway();
    const metrics = { pushgatewayUrl: gateway.url };
    let config = writeTestConfig(dir, { metrics, end: '2024-01-01T02:00:00Z' });
    expect((await runCli(['backfill', '--config', config, '--job', 'backfill_job'])).code).toBe(0);
    const [first] = jobRuns(dir);

    config = writeTestConfig(dir, { metrics, failureRate: 1, maxAttempts: 2 });
    const failed = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(failed.code).toBe(1);
    expect(gateway.pushes).toHaveLength(2);
    const final = parseExposition(gateway.pushes[1]?.body ?? '');
    const job = { job_name: 'backfill_job' };
    expect(valueOf(final, 'pipeline_job_runs_total', { ...job, status: 'failure' })).toBe(1);
    expect(valueOf(final, 'pipeline_job_runs_total', { ...job, status: 'success' })).toBe(0);
    expect(
      valueOf(final, 'pipeline_provider_requests_total', { provider: 'synth', status: 'error' }),
    ).toBeGreaterThan(0);
    expect(valueOf(final, 'pipeline_job_last_success_timestamp_seconds', job)).toBe(
      (first?.completed_at ?? 0) / 1000,
    );
  });

  it('chunks whose pages stay short are counted per job and provider, as job_checkpoints records them', async () => {
    const dir = tempDir();
    const gateway = await pushgateway();
    const config = writeTestConfig(dir, {
      metrics: { pushgatewayUrl: gateway.url },
      maxBarsPerRequest: 400,
      shortPages: 1,
      maxAttempts: 2,
    });
    const result = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(result.code, result.stderr).toBe(0);
    const incomplete = incompleteCheckpoints(dir);
    expect(incomplete).toBeGreaterThan(0);
    expect(result.stdout).toContain(`${incomplete} chunks stayed short of the provider's window`);
    const final = parseExposition(gateway.pushes[0]?.body ?? '');
    const series = { job_name: 'backfill_job', provider: 'synth' };
    expect(valueOf(final, 'pipeline_backfill_incomplete_chunks_total', series)).toBe(incomplete);
    // Only a backfill job has chunks: no series for the live job.
    expect(
      samplesOf(final, 'pipeline_backfill_incomplete_chunks_total').map((s) => s.labels.job_name),
    ).toEqual(['backfill_job']);
  });

  it('with metrics disabled nothing listens and nothing is pushed; --metrics-port says it is ignored', async () => {
    const dir = tempDir();
    const gateway = await pushgateway();
    const port = await freePort();
    const config = writeTestConfig(dir, {
      ...SLOW_BACKFILL,
      metrics: { enabled: false, pushgatewayUrl: gateway.url },
    });
    const child = spawnCli([
      'backfill',
      '--config',
      config,
      '--job',
      'backfill_job',
      '--metrics-port',
      String(port),
    ]);
    const done = collect(child);
    let exited = false;
    void done.then(() => (exited = true));
    let attempts = 0;
    while (!exited) {
      expect(await scrape(`http://127.0.0.1:${port}/metrics`)).toBeUndefined();
      attempts += 1;
      await sleep(200);
    }
    const result = await done;
    expect(result.code).toBe(0);
    expect(attempts).toBeGreaterThan(3);
    expect(gateway.pushes).toEqual([]);
    expect(warnings(result.stderr)).toEqual([
      expect.objectContaining({
        msg: '--metrics-port is ignored: telemetry.metrics.enabled is false in the config',
      }),
    ]);
  });

  it('--metrics-port must be a port', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir);
    for (const bad of ['http', '70000', '-1']) {
      const result = await runCli([
        'backfill',
        '--config',
        config,
        '--job',
        'backfill_job',
        '--metrics-port',
        bad,
      ]);
      expect(result.code, bad).toBe(2);
      expect(result.stderr).toContain(
        `--metrics-port "${bad}" is not a port: write a number from 1 to 65535 (0 picks a free one)`,
      );
    }
  });
});
