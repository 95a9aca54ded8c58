import { readFileSync } from 'node:fs';
import { Histogram } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PipelineMetrics } from '../../../src/pipeline/telemetry/pipeline-metrics.js';
import { SchedulerMetrics } from '../../../src/service/scheduler-metrics.js';

const root = new URL('../../../monitoring/', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string }[];
}
interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface RuleTests {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

/**
 * Every series name an mdp process exports (a one-shot command's and `mdp serve`'s scheduler's),
 * histograms with their three suffixes.
 */
const KNOWN = new Set(
  (() => {
    const { registry } = new PipelineMetrics({ processMetrics: false });
    new SchedulerMetrics(registry, []);
    return registry.getMetricsAsArray();
  })().flatMap((metric) => {
    const { name } = metric;
    return metric instanceof Histogram
      ? [`${name}_bucket`, `${name}_sum`, `${name}_count`]
      : [name];
  }),
);

function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bpipeline_[a-z_]+\b/g)].map((match) => match[0]);
}

describe('monitoring/grafana/dashboard.json', () => {
  const dashboard = JSON.parse(read('grafana/dashboard.json')) as {
    uid: string;
    panels: Panel[];
    templating: { list: { name: string }[] };
  };
  const panels = dashboard.panels.filter((panel) => panel.type !== 'row');

  it("has the seed's key panels, each querying its series", () => {
    const byTitle = new Map(panels.map((panel) => [panel.title, panel]));
    const expected: Record<string, string> = {
      'Job runs by status': 'pipeline_job_runs_total',
      'Job failure ratio (1 h)': 'pipeline_job_runs_total',
      'Rows written per second': 'pipeline_rows_written_total',
      'Active jobs': 'pipeline_active_jobs',
      'Rate-limit violations': 'pipeline_provider_rate_limit_violations_total',
      'Provider latency': 'pipeline_provider_request_duration_seconds_bucket',
      'Write latency': 'pipeline_batch_write_duration_seconds_bucket',
      'Bars in the local spool': 'pipeline_spool_bars',
      'Backfill chunks recorded incomplete': 'pipeline_backfill_incomplete_chunks_total',
      // Issue 13: the service's schedules and the pacing budgets shared through the store.
      'Last run failed': 'pipeline_job_last_run_failed',
      'Time to next tick': 'pipeline_schedule_next_tick_timestamp_seconds',
      'Time since last tick': 'pipeline_schedule_last_tick_timestamp_seconds',
      'Ticks missed (24 h)': 'pipeline_schedule_ticks_total',
      'Ticks by outcome': 'pipeline_schedule_ticks_total',
      'Pacing wait per provider': 'pipeline_provider_pacing_wait_seconds_total',
    };
    for (const [title, metric] of Object.entries(expected)) {
      const exprs = byTitle.get(title)?.targets?.map((target) => target.expr) ?? [];
      expect(exprs.length, title).toBeGreaterThan(0);
      for (const expr of exprs) expect(metricNames(expr), title).toContain(metric);
    }
  });

  it('queries only series mdp exports, through the datasource and job variables', () => {
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets ?? []) {
        for (const name of metricNames(expr))
          expect(KNOWN, `${panel.title}: ${name}`).toContain(name);
      }
    }
    expect(dashboard.templating.list.map((variable) => variable.name)).toEqual([
      'datasource',
      'job_name',
    ]);
  });

  it('lays panels out on the 24-column grid with unique ids and no overlap', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const { gridPos, title } of dashboard.panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });
});

describe('monitoring/prometheus', () => {
  const rules = parse(read('prometheus/alerts.yml')) as RuleFile;
  const alerts = rules.groups.flatMap((group) => group.rules).filter((rule) => rule.alert);

  it('alerts on job failures, stale successes, rate limits, storage errors, heartbeats, the spool and incomplete chunks', () => {
    expect(alerts.map((rule) => rule.alert)).toEqual([
      'MdpJobFailed',
      'MdpJobNoRecentSuccess',
      'MdpProviderRateLimited',
      'MdpStorageErrors',
      'MdpJobHeartbeatStale',
      'MdpSpoolHoldingBars',
      'MdpBackfillIncompleteChunks',
    ]);
    for (const rule of alerts) {
      for (const name of metricNames(rule.expr))
        expect(KNOWN, `${rule.alert}: ${name}`).toContain(name);
    }
  });

  it('every alert has a promtool unit test in which it fires', () => {
    const tests = parse(read('prometheus/alerts.test.yml')) as RuleTests;
    expect(tests.rule_files).toEqual(['alerts.yml']);
    const firing = new Set(
      tests.tests
        .flatMap((test) => test.alert_rule_test ?? [])
        .filter((check) => check.exp_alerts.length > 0)
        .map((check) => check.alertname),
    );
    for (const rule of alerts) expect(firing, rule.alert).toContain(rule.alert);
  });

  it("the example scrape config loads the alerts and keeps the Pushgateway groups' job label", () => {
    const config = parse(read('prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; honor_labels?: boolean }[];
    };
    expect(config.rule_files).toEqual(['alerts.yml']);
    const jobs = Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job]));
    expect(Object.keys(jobs)).toEqual(['mdp', 'pushgateway']);
    expect(jobs.pushgateway?.honor_labels).toBe(true);
  });
});
