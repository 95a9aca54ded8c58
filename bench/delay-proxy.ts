import { tcpProxy, type TcpProxy } from '../test/helpers/tcp-proxy.js';

/**
 * A proxy in front of a PostgreSQL server that forwards each chunk a client sends `delayMs` late
 * (answers come back at once), in order: a database that far away, each round trip `delayMs`
 * longer. Measures what a statement's round trips cost against a remote database on a machine
 * that has only a local one.
 */
export function delayProxy(targetUrl: string, delayMs: number): Promise<TcpProxy> {
  // Timers of one duration fire in the order they were set: chunks keep their order.
  return tcpProxy(targetUrl, (chunk, upstream) =>
    setTimeout(() => (chunk === null ? upstream.end() : upstream.write(chunk)), delayMs),
  );
}
