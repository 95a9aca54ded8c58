import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a fake Pushgateway received. */
export interface RecordedPush {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

export interface PushRecorder {
  /** Base URL, e.g. http://127.0.0.1:PORT. */
  readonly url: string;
  readonly pushes: RecordedPush[];
  close(): Promise<void>;
}

/**
 * A stand-in Pushgateway on 127.0.0.1 that records every request and answers `status` (202, as
 * the real one does, unless told otherwise); with `hang`, it never answers.
 */
export function startPushRecorder(
  options: { status?: number; hang?: boolean } = {},
): Promise<PushRecorder> {
  const pushes: RecordedPush[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      pushes.push({
        method: request.method ?? '',
        path: request.url ?? '',
        contentType: request.headers['content-type'],
        body,
      });
      if (!options.hang) response.writeHead(options.status ?? 202).end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        pushes,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
