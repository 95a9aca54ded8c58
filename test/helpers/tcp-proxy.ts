import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP proxy on 127.0.0.1 and the URL that reaches its target through it. */
export interface TcpProxy {
  readonly url: string;
  /** Stops listening and drops every connection still open. */
  close(): Promise<void>;
}

/**
 * Listens on a free port of 127.0.0.1; `target`'s URL with that host and port reaches `server`
 * instead of the target.
 */
export async function listenInFrontOf(server: Server, target: URL): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = new URL(target.href);
  url.hostname = '127.0.0.1';
  url.port = String(typeof address === 'object' && address ? address.port : 0);
  return url.href;
}

/**
 * A proxy to `targetUrl`'s host and port: each client gets its own connection to the target,
 * answers flow back untouched, and `forward` decides how what the client sends reaches it
 * (`null`: the client ended its side).
 */
export async function tcpProxy(
  targetUrl: string,
  forward: (chunk: Buffer | null, upstream: Socket) => void,
): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk: Buffer) => forward(chunk, upstream));
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('end', () => forward(null, upstream));
  });
  return {
    url: await listenInFrontOf(server, target),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
