import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP proxy in front of a PostgreSQL server, and the URL that reaches the server through it. */
export interface DelayProxy {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Forwards each chunk a client sends `delayMs` late (answers come back at once), in order: a
 * database that far away, one round trip costing `delayMs` more. Measures what a statement's
 * round trips cost against a remote database on a machine that has only a local one.
 */
export async function delayProxy(targetUrl: string, delayMs: number): Promise<DelayProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    // Timers of one duration fire in the order they were set: chunks keep their order.
    client.on('data', (chunk) => setTimeout(() => upstream.write(chunk), delayMs));
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('end', () => setTimeout(() => upstream.end(), delayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = new URL(target.href);
  url.hostname = '127.0.0.1';
  url.port = String(typeof address === 'object' && address ? address.port : 0);
  return {
    url: url.href,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
