import { Pushgateway, type Registry } from 'prom-client';
import { toError } from '../../core/errors.js';
import { TelemetryError } from './telemetry-error.js';

export interface PushMetricsOptions {
  /** The Pushgateway's base URL, e.g. http://127.0.0.1:9091. */
  readonly url: string;
  /** The group: the Pushgateway's `job` label. Our series carry `job_name`, never `job`. */
  readonly jobName: string;
  /** A push that takes longer is abandoned; default 5 s, so a dead gateway cannot hold up exit. */
  readonly timeoutMs?: number;
}

const DEFAULT_PUSH_TIMEOUT_MS = 5_000;

/**
 * Replaces the job's group on a Prometheus Pushgateway with every series of `registry` (HTTP PUT),
 * so the group always holds the latest run's final values. Rejects with a TelemetryError.
 */
export async function pushMetrics(registry: Registry, options: PushMetricsOptions): Promise<void> {
  const gateway = new Pushgateway(
    options.url,
    {
      timeout: options.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS,
      headers: { 'Content-Type': registry.contentType },
    },
    registry,
  );
  try {
    await gateway.push({ jobName: options.jobName });
  } catch (error: unknown) {
    throw new TelemetryError(
      'MDP_TELEMETRY_PUSH',
      // prom-client appends the response body after a comma, even when there is none.
      `could not push metrics to the Pushgateway at ${options.url}: ${toError(error).message.replace(/,\s*$/, '')}`,
      { cause: error },
    );
  }
}
