import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { RunEvents } from '../../../src/pipeline/run-events.js';
import { MetricsServer } from '../../../src/pipeline/telemetry/metrics-server.js';
import { PipelineMetrics } from '../../../src/pipeline/telemetry/pipeline-metrics.js';
import { recordRunEvents } from '../../../src/pipeline/telemetry/record-run-events.js';
import { INSTALL_HINT, IN_CI, PROMTOOL_INSTALLED, promtool } from '../../helpers/promtool.js';

const MONITORING = fileURLToPath(new URL('../../../monitoring/', import.meta.url));
const SKIPPED = !PROMTOOL_INSTALLED;

if (SKIPPED && !IN_CI) {
  console.warn(`promtool checks skipped: promtool is ${INSTALL_HINT}`);
}

/** A /metrics page with every series holding a sample, scraped over HTTP. */
async function scrapedPage(): Promise<string> {
  const events = new RunEvents();
  const metrics = new PipelineMetrics({
    jobs: [{ name: 'backfill_job', mode: 'backfill', provider: 'synth' }],
    providers: ['synth'],
    storages: ['sqlite'],
  });
  recordRunEvents(events, metrics);
  const run = {
    runId: 1,
    jobName: 'backfill_job',
    mode: 'backfill' as const,
    profile: null,
    dryRun: false,
    status: 'running' as const,
    startedAt: Date.now(),
    heartbeatAt: Date.now(),
    completedAt: null,
    rowsWritten: 0,
    batches: 0,
    error: null,
    host: 'h',
    pid: 1,
    configHash: 'x',
    params: {},
    heartbeatIntervalMs: 5_000,
    identity: { bootId: null, pidNamespace: null, processStart: null },
  };
  events.emit('run:start', { run });
  events.emit('provider:request', { provider: 'synth', status: 'rate_limited', durationMs: 3 });
  events.emit('batch:written', {
    jobName: 'backfill_job',
    provider: 'synth',
    storage: 'sqlite',
    rows: 10,
    durationMs: 2,
  });
  events.emit('bars:rejected', { provider: 'synth', reason: 'duplicate_ts', count: 1 });
  events.emit('chunk:incomplete', { jobName: 'backfill_job', provider: 'synth', symbol: 'AAA' });
  events.emit('spool:depth', { jobName: 'backfill_job', bars: 0 });
  events.emit('storage:error', {
    storage: 'sqlite',
    kind: 'busy',
    error: new Error('locked'),
    willRetry: true,
  });
  events.emit('run:end', {
    run,
    status: 'success',
    totals: { rowsWritten: 10, batches: 1, rejected: 1, incompleteChunks: 1, provisionalChunks: 0 },
    durationMs: 1_000,
  });
  const server = new MetricsServer({ source: metrics, host: '127.0.0.1', port: 0 });
  const url = await server.start();
  try {
    return await new Promise<string>((resolve, reject) => {
      request(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });
  } finally {
    await server.stop();
  }
}

describe('promtool in CI', () => {
  it.skipIf(!IN_CI)('is installed: CI must run the promtool checks, not skip them', () => {
    expect(PROMTOOL_INSTALLED, `CI=true but promtool is ${INSTALL_HINT}`).toBe(true);
  });
});

describe.skipIf(SKIPPED)(`promtool checks (skipped when promtool is ${INSTALL_HINT})`, () => {
  it('check metrics: a scraped /metrics page passes the linter', async () => {
    const page = await scrapedPage();
    expect(page).toContain('pipeline_storage_errors_total{storage="sqlite",kind="busy"} 1');
    const result = promtool(['check', 'metrics'], page);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('check rules: the alert rules are valid', () => {
    const result = promtool(['check', 'rules', join(MONITORING, 'prometheus', 'alerts.yml')]);
    expect(result.output).toContain('SUCCESS: 8 rules found');
    expect(result.status).toBe(0);
  });

  it('test rules: every alert behaves as its unit tests say', () => {
    const result = promtool(['test', 'rules', join(MONITORING, 'prometheus', 'alerts.test.yml')]);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('check config: the example scrape config (and the rules it loads) is valid', () => {
    const result = promtool(['check', 'config', join(MONITORING, 'prometheus', 'prometheus.yml')]);
    expect(result.output).toContain('is valid prometheus config file syntax');
    expect(result.status).toBe(0);
  });

  it("the dashboard's queries are valid PromQL", () => {
    const dashboard = JSON.parse(
      readFileSync(join(MONITORING, 'grafana', 'dashboard.json'), 'utf8'),
    ) as { panels: { targets?: { expr: string }[] }[] };
    // Grafana's variables, replaced as Grafana would before sending a query.
    const exprs = dashboard.panels
      .flatMap((panel) => panel.targets ?? [])
      .map(({ expr }) => expr.replaceAll('$__rate_interval', '1m').replaceAll('$job_name', '.*'));
    const dir = mkdtempSync(join(tmpdir(), 'mdp-dashboard-'));
    try {
      const file = join(dir, 'dashboard-queries.yml');
      const rules = exprs.map((expr, index) => ({ record: `dashboard:query_${index}`, expr }));
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const result = promtool(['check', 'rules', file]);
      expect(result.output).toContain(`SUCCESS: ${exprs.length} rules found`);
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
