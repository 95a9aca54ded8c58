import { afterEach, describe, expect, it } from 'vitest';
import { PipelineMetrics } from '../../../src/pipeline/telemetry/pipeline-metrics.js';
import { pushMetrics } from '../../../src/pipeline/telemetry/push-metrics.js';
import { TelemetryError } from '../../../src/pipeline/telemetry/telemetry-error.js';
import { parseExposition, valueOf } from '../../helpers/exposition.js';
import { freePort } from '../../helpers/free-port.js';
import { startPushRecorder, type PushRecorder } from '../../helpers/push-recorder.js';

const recorders: PushRecorder[] = [];
afterEach(async () => {
  await Promise.all(recorders.splice(0).map((recorder) => recorder.close()));
});

async function recorder(options: Parameters<typeof startPushRecorder>[0] = {}) {
  const started = await startPushRecorder(options);
  recorders.push(started);
  return started;
}

function metrics(): PipelineMetrics {
  const result = new PipelineMetrics({
    jobs: [{ name: 'backfill_job', mode: 'backfill', provider: 'synth' }],
    providers: ['synth'],
    processMetrics: false,
  });
  result.rowsWritten.inc({ job_name: 'backfill_job', provider: 'synth' }, 5760);
  return result;
}

describe('pushMetrics', () => {
  it("replaces the job's group (PUT /metrics/job/NAME) with every series, in the text format", async () => {
    const gateway = await recorder();
    const source = metrics();
    await pushMetrics(source.registry, { url: gateway.url, jobName: 'backfill_job' });
    expect(gateway.pushes).toHaveLength(1);
    const [push] = gateway.pushes;
    expect(push).toMatchObject({
      method: 'PUT',
      path: '/metrics/job/backfill_job',
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
    });
    expect(push?.body).toBe(await source.render());
    const page = parseExposition(push?.body ?? '');
    expect(
      valueOf(page, 'pipeline_rows_written_total', { job_name: 'backfill_job', provider: 'synth' }),
    ).toBe(5760);
    // The Pushgateway owns `job`: a pushed series must not carry it.
    expect(page.samples.some((sample) => 'job' in sample.labels)).toBe(false);
  });

  it('keeps a path prefix of the gateway URL and escapes the job name', async () => {
    const gateway = await recorder();
    await pushMetrics(metrics().registry, { url: `${gateway.url}/push`, jobName: 'eu/daily job' });
    expect(gateway.pushes[0]?.path).toBe('/push/metrics/job/eu%2Fdaily%20job');
  });

  it('a refused push is a TelemetryError naming the gateway and the reason', async () => {
    const gateway = await recorder({ status: 500 });
    const error = await pushMetrics(metrics().registry, { url: gateway.url, jobName: 'j' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TelemetryError);
    expect(error).toMatchObject({ code: 'MDP_TELEMETRY_PUSH' });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^could not push metrics to the Pushgateway at ${gateway.url}: push failed with status 500`,
      ),
    );

    const closed = `http://127.0.0.1:${await freePort()}`;
    await expect(pushMetrics(metrics().registry, { url: closed, jobName: 'j' })).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });

  it('gives up on a gateway that does not answer within the timeout', async () => {
    const gateway = await recorder({ hang: true });
    const started = performance.now();
    await expect(
      pushMetrics(metrics().registry, { url: gateway.url, jobName: 'j', timeoutMs: 200 }),
    ).rejects.toThrow('Pushgateway request timed out');
    expect(performance.now() - started).toBeLessThan(3_000);
  });
});
