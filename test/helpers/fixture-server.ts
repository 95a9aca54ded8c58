import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

/** A request the fixture server received. */
export interface ReceivedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
}

/** What the server answers: a JSON value or a raw text body, with a status and headers. */
export interface FixtureReply {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly json?: unknown;
  readonly text?: string;
  /** Answer only after this many milliseconds (to hit a client's timeout). */
  readonly delayMs?: number;
}

export type FixtureHandler = (request: ReceivedRequest) => FixtureReply | Promise<FixtureReply>;

/** A real HTTP server on 127.0.0.1 and a kernel-chosen port, answering from a handler. */
export interface FixtureServer {
  /** `http://127.0.0.1:PORT`, for a provider's base_url. */
  readonly url: string;
  readonly requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** Starts a server answering with `handler`; it is closed after the test. */
export function useFixtureServer(): (handler: FixtureHandler) => Promise<FixtureServer> {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(
      servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
  });
  return async (handler) => {
    const requests: ReceivedRequest[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const received = { method: req.method ?? 'GET', url, headers: req.headers };
      requests.push(received);
      void (async () => {
        try {
          const reply = await handler(received);
          if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
          const body = reply.text ?? JSON.stringify(reply.json ?? null);
          res.writeHead(reply.status ?? 200, {
            'content-type': reply.text === undefined ? 'application/json' : 'text/plain',
            ...reply.headers,
          });
          res.end(body);
        } catch (error: unknown) {
          res.writeHead(599, { 'content-type': 'text/plain' });
          res.end(`fixture handler failed: ${String(error)}`);
        }
      })();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      requests,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  };
}
