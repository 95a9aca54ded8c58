import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../helpers/free-port.js';
import { INSTALL_HINT, IN_CI, PROMETHEUS_INSTALLED } from '../helpers/promtool.js';
import { collect, spawnCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig } from '../helpers/test-config.js';

const tempDir = useTempDir();
const ALERTS = fileURLToPath(new URL('../../monitoring/prometheus/alerts.yml', import.meta.url));

if (!PROMETHEUS_INSTALLED && !IN_CI) {
  console.warn(`Prometheus end-to-end test skipped: prometheus is ${INSTALL_HINT}`);
}

function getJson<T>(url: string): Promise<T | undefined> {
  return new Promise((resolve) => {
    request(url, { agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(body) as T) : undefined));
    })
      .on('error', () => resolve(undefined))
      .end();
  });
}

/** Polls `probe` every 250 ms until it yields a value, or fails after `timeoutMs` with `what`. */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

interface QueryResult {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

describe('Prometheus end to end', () => {
  it.skipIf(!IN_CI)('prometheus is installed: CI must run this test, not skip it', () => {
    expect(PROMETHEUS_INSTALLED, `CI=true but prometheus is ${INSTALL_HINT}`).toBe(true);
  });

  it.skipIf(!PROMETHEUS_INSTALLED)(
    `a real Prometheus scrapes mdp run --follow and its query API sees rows written (skipped when prometheus is ${INSTALL_HINT})`,
    async () => {
      const dir = tempDir();
      const [mdpPort, promPort] = [await freePort(), await freePort()];
      const config = writeTestConfig(dir, { metrics: { port: mdpPort } });
      const promConfig = join(dir, 'prometheus.yml');
      writeFileSync(
        promConfig,
        stringify({
          global: { scrape_interval: '1s', evaluation_interval: '1s' },
          rule_files: [ALERTS],
          scrape_configs: [
            { job_name: 'mdp', static_configs: [{ targets: [`127.0.0.1:${mdpPort}`] }] },
          ],
        }),
      );
      let prometheus: ChildProcess | undefined;
      let prometheusLog = '';
      const mdp = spawnCli(['run', '--config', config, '--job', 'live_job', '--follow']);
      const mdpDone = collect(mdp, 90_000);
      try {
        prometheus = spawn(
          'prometheus',
          [
            `--config.file=${promConfig}`,
            `--storage.tsdb.path=${join(dir, 'tsdb')}`,
            `--web.listen-address=127.0.0.1:${promPort}`,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        prometheus.stdout?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
        prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
        const api = `http://127.0.0.1:${promPort}/api/v1`;
        const query = encodeURIComponent('pipeline_rows_written_total{job_name="live_job"} > 0');
        const sample = await waitFor(
          'Prometheus to report pipeline_rows_written_total > 0',
          45_000,
          async () => (await getJson<QueryResult>(`${api}/query?query=${query}`))?.data.result[0],
        ).catch((error: Error) => {
          throw new Error(`${error.message}\nprometheus log:\n${prometheusLog}`);
        });
        expect(sample.metric).toEqual({
          __name__: 'pipeline_rows_written_total',
          job: 'mdp',
          instance: `127.0.0.1:${mdpPort}`,
          job_name: 'live_job',
          provider: 'synth',
        });
        // A first live cycle writes up to 2 h of 1m bars for each of the 2 symbols.
        expect(Number(sample.value[1])).toBeGreaterThan(200);

        const rules = await getJson<{ data: { groups: { rules: unknown[] }[] } }>(`${api}/rules`);
        expect(rules?.data.groups.flatMap((group) => group.rules)).toHaveLength(8);
      } finally {
        mdp.kill('SIGTERM');
        // Its data directory is removed after the test: it must have exited by then.
        await stop(prometheus);
      }
      const result = await mdpDone;
      expect(result.code).toBe(143);
      expect(result.stdout).toMatch(/^run 1 live_job cancelled/m);
    },
    120_000,
  );
});
