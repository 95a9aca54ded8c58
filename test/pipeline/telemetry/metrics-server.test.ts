import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MetricsServer,
  type MetricsSource,
} from '../../../src/pipeline/telemetry/metrics-server.js';
import { LivenessChecks } from '../../../src/pipeline/telemetry/liveness-checks.js';
import { PipelineMetrics } from '../../../src/pipeline/telemetry/pipeline-metrics.js';
import { TelemetryError } from '../../../src/pipeline/telemetry/telemetry-error.js';
import { occupyPort } from '../../helpers/free-port.js';

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

function serve(
  source: MetricsSource,
  options: { port?: number; shutdownDeadlineMs?: number; liveness?: LivenessChecks } = {},
) {
  const server = new MetricsServer({ source, host: '127.0.0.1', port: 0, ...options });
  servers.push(server);
  return server;
}

function metrics(): PipelineMetrics {
  return new PipelineMetrics({
    jobs: [{ name: 'backfill_job', mode: 'backfill', provider: 'synth' }],
    providers: ['synth'],
    processMetrics: false,
  });
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function fetchText(url: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('MetricsServer', () => {
  it("serves /metrics in the registry's text format with prom-client's content type", async () => {
    const source = metrics();
    source.jobRuns.inc({ job_name: 'backfill_job', status: 'success' });
    const url = await serve(source).start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const reply = await fetchText(url);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(reply.body).toBe(await source.render());
    expect(reply.body).toContain(
      'pipeline_job_runs_total{job_name="backfill_job",status="success"} 1',
    );
    const head = await fetchText(url, 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
  });

  it('/healthz reports the registered liveness checks: 503 while one fails', async () => {
    const liveness = new LivenessChecks();
    const url = await serve(metrics(), { liveness }).start();
    const healthz = url.replace(/\/metrics$/, '/healthz');
    let lastBeat = '2026-12-01T18:00:00Z';
    let alive = true;
    const remove = liveness.register('alive', () => ({
      ok: alive,
      detail: `last beat ${lastBeat}`,
    }));
    expect(await fetchText(healthz)).toMatchObject({
      status: 200,
      body: 'ok\nalive: ok (last beat 2026-12-01T18:00:00Z)\n',
    });
    alive = false;
    lastBeat = '2026-12-01T18:00:05Z';
    liveness.register('broken', () => {
      throw new Error('no beat yet');
    });
    expect(await fetchText(healthz)).toMatchObject({
      status: 503,
      body:
        'failing\nalive: failing (last beat 2026-12-01T18:00:05Z)\n' +
        'broken: failing (the check threw: Error: no beat yet)\n',
    });
    remove();
    liveness.register('broken', () => ({ ok: true }));
    expect(await fetchText(healthz)).toMatchObject({ status: 200, body: 'ok\nbroken: ok\n' });
  });

  it('answers /healthz, 404 elsewhere and 405 to other methods', async () => {
    const url = await serve(metrics()).start();
    const base = url.replace(/\/metrics$/, '');
    expect(await fetchText(`${base}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await fetchText(`${base}/metrics?x=1`)).toMatchObject({ status: 200 });
    const missing = await fetchText(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('/metrics');
    const post = await fetchText(url, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('answers 500 with the reason when rendering fails, and keeps serving', async () => {
    let fail = true;
    const source: MetricsSource = {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      render: () => (fail ? Promise.reject(new Error('collector broke')) : Promise.resolve('')),
    };
    const url = await serve(source).start();
    expect(await fetchText(url)).toMatchObject({
      status: 500,
      body: 'could not render metrics: collector broke\n',
    });
    fail = false;
    expect((await fetchText(url)).status).toBe(200);
  });

  it('a port in use is a TelemetryError that names the address and the fix', async () => {
    const taken = await occupyPort();
    try {
      const error = await serve(metrics(), { port: taken.port })
        .start()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TelemetryError);
      expect(error).toMatchObject({ code: 'MDP_TELEMETRY_PORT_IN_USE' });
      expect((error as Error).message).toBe(
        `cannot serve /metrics on 127.0.0.1:${taken.port}: the port is already in use; set telemetry.metrics.port (or pass --metrics-port) to a free port`,
      );
    } finally {
      await taken.release();
    }
  });

  it('start() and stop() are idempotent; a stopped server stays stopped', async () => {
    const server = serve(metrics());
    const [first, second] = await Promise.all([server.start(), server.start()]);
    expect(second).toBe(first);
    expect(await server.start()).toBe(first);
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    await expect(fetchText(first)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(server.start()).rejects.toThrow('was stopped');

    const neverStarted = serve(metrics());
    await expect(neverStarted.stop()).resolves.toBeUndefined();
  });

  it('stop() cuts a scrape that outlives the shutdown deadline', async () => {
    const hanging: MetricsSource = {
      contentType: 'text/plain',
      render: () => new Promise<string>(() => {}),
    };
    const server = serve(hanging, { shutdownDeadlineMs: 100 });
    const url = await server.start();
    const scrape = fetchText(url).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await server.stop();
    const waited = performance.now() - started;
    // It gave the scrape its deadline, then did not wait for it.
    expect(waited).toBeGreaterThanOrEqual(80);
    expect(waited).toBeLessThan(2_000);
    expect(await scrape).toMatchObject({ code: 'ECONNRESET' });
  });
});
