import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toError } from '../../core/errors.js';
import type { LivenessChecks } from './liveness-checks.js';
import { TelemetryError } from './telemetry-error.js';

/** What the server exposes: rendered from memory on each scrape, never from the database. */
export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsServerOptions {
  readonly source: MetricsSource;
  readonly host: string;
  /** 0 picks a free port; `url` then tells which. */
  readonly port: number;
  /**
   * What /healthz reports: 200 when every check is ok, else 503, a line per check. Without it (or
   * with no check registered) /healthz answers 200 "ok" whenever the server answers.
   */
  readonly liveness?: LivenessChecks;
  /** How long `stop()` lets in-flight scrapes finish before cutting their connections; default 2 s. */
  readonly shutdownDeadlineMs?: number;
}

const DEFAULT_SHUTDOWN_DEADLINE_MS = 2_000;

/**
 * Serves `GET /metrics` (Prometheus text format) and `GET /healthz` over node:http while a run is
 * in progress (one-shot commands) or the service is up. `start()` and `stop()` are idempotent; a stopped server does not start again.
 */
export class MetricsServer {
  private readonly server: Server;
  private starting: Promise<string> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: MetricsServerOptions) {
    this.server = createServer((request, response) => void this.handle(request, response));
    // Scrapes must never keep a finished process alive.
    this.server.unref();
  }

  /** Listens; resolves with the URL of /metrics, or rejects with a TelemetryError. */
  start(): Promise<string> {
    if (this.stopping) {
      return Promise.reject(new Error('the metrics server was stopped; create a new one'));
    }
    this.starting ??= this.listen();
    return this.starting;
  }

  /** Stops listening; in-flight scrapes get the shutdown deadline, then their sockets are closed. */
  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  private listen(): Promise<string> {
    const { host, port } = this.options;
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void =>
        reject(listenError(error, host, port));
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const address = this.server.address() as AddressInfo;
        const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve(`http://${hostPart}:${address.port}/metrics`);
      });
    });
  }

  private async close(): Promise<void> {
    // A start that failed has nothing to close; one in progress is waited for.
    const started = await this.starting?.then(
      () => true,
      () => false,
    );
    if (!started) return;
    const deadlineMs = this.options.shutdownDeadlineMs ?? DEFAULT_SHUTDOWN_DEADLINE_MS;
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(() => this.server.closeAllConnections(), deadlineMs);
      deadline.unref();
      this.server.close(() => {
        clearTimeout(deadline);
        resolve();
      });
      // Keep-alive connections of a scraper would otherwise hold close() open until they time out.
      this.server.closeIdleConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      reply(response, 405, 'only GET and HEAD are served\n', { Allow: 'GET, HEAD' });
      return;
    }
    if (path === '/healthz') {
      this.replyHealth(response);
      return;
    }
    if (path !== '/metrics') {
      reply(response, 404, 'not found: metrics are at /metrics, liveness at /healthz\n');
      return;
    }
    try {
      const body = await this.options.source.render();
      const headers = { 'Content-Type': this.options.source.contentType };
      response.writeHead(200, headers).end(request.method === 'HEAD' ? undefined : body);
    } catch (error: unknown) {
      reply(response, 500, `could not render metrics: ${toError(error).message}\n`);
    }
  }

  private replyHealth(response: ServerResponse): void {
    const health = this.options.liveness?.report();
    if (!health || health.checks.length === 0) {
      reply(response, 200, 'ok\n');
      return;
    }
    const lines = health.checks.map(
      ({ name, report }) =>
        `${name}: ${report.ok ? 'ok' : 'failing'}${report.detail ? ` (${report.detail})` : ''}`,
    );
    reply(
      response,
      health.ok ? 200 : 503,
      `${health.ok ? 'ok' : 'failing'}\n${lines.join('\n')}\n`,
    );
  }
}

function reply(
  response: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }).end(text);
}

/** A listen failure in words that say what to change. */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): TelemetryError {
  const where = `${host}:${port}`;
  const fix = 'set telemetry.metrics.port (or pass --metrics-port) to a free port';
  if (error.code === 'EADDRINUSE') {
    return new TelemetryError(
      'MDP_TELEMETRY_PORT_IN_USE',
      `cannot serve /metrics on ${where}: the port is already in use; ${fix}`,
      { cause: error },
    );
  }
  const reason =
    error.code === 'EACCES'
      ? 'permission denied (ports below 1024 need privileges)'
      : error.code === 'EADDRNOTAVAIL'
        ? `${host} is not an address of this machine; fix telemetry.metrics.host`
        : error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
          ? `the host name ${host} does not resolve; fix telemetry.metrics.host`
          : error.message;
  return new TelemetryError(
    'MDP_TELEMETRY_LISTEN',
    `cannot serve /metrics on ${where}: ${reason}`,
    {
      cause: error,
    },
  );
}
