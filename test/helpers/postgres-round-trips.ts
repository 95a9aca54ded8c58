import { tcpProxy } from './tcp-proxy.js';

/** The protocol codes of the untyped messages a client may send before its startup message. */
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/** A proxy in front of a PostgreSQL server that counts the round trips its clients make. */
export interface RoundTripCounter {
  /** Reaches the server through the proxy. */
  readonly url: string;
  /** Round trips since the proxy started: each simple Query and each Sync a client sent. */
  count(): number;
  close(): Promise<void>;
}

/**
 * Reads the frontend messages each client sends and counts those after which it waits for the
 * server's ReadyForQuery: a simple Query ('Q', however many statements it holds) and the Sync
 * ('S') ending an extended query (Parse, Bind, Execute...). That is the number of times a client
 * waits out the network's round trip, whatever its statements.
 */
export async function roundTripCounter(targetUrl: string): Promise<RoundTripCounter> {
  let trips = 0;
  // Per connection: bytes of a message not complete yet, and whether startup is done.
  const streams = new WeakMap<object, { pending: Buffer; started: boolean }>();
  const proxy = await tcpProxy(targetUrl, (chunk, upstream) => {
    if (chunk === null) return upstream.end();
    upstream.write(chunk);
    const stream = streams.get(upstream) ?? { pending: Buffer.alloc(0), started: false };
    streams.set(upstream, stream);
    stream.pending = Buffer.concat([stream.pending, chunk]);
    for (;;) {
      // Before startup: untyped messages (length, code); after: a type byte, then the length.
      const header = stream.started ? 5 : 8;
      if (stream.pending.length < header) return;
      const length = stream.started
        ? stream.pending.readInt32BE(1) + 1
        : stream.pending.readInt32BE(0);
      if (stream.pending.length < length) return;
      if (!stream.started) {
        const code = stream.pending.readInt32BE(4);
        stream.started = code !== SSL_REQUEST && code !== GSSENC_REQUEST;
      } else if (stream.pending[0] === 0x51 /* Q */ || stream.pending[0] === 0x53 /* S */) {
        trips += 1;
      }
      stream.pending = stream.pending.subarray(length);
    }
  });
  return { url: proxy.url, count: () => trips, close: () => proxy.close() };
}
