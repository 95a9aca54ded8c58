import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { requestJson } from '../../../src/providers/http/request-json.js';

/**
 * A server at the TCP level, so a test sees what HTTP hides: when a connection is accepted and
 * when the request's first byte arrives. Answers each request `{"ok":true}`; `dropIdle` closes
 * each connection once, after that many ms without a request on it.
 */
async function tcpServer(options: { dropIdleMs?: number } = {}): Promise<{
  url: URL;
  events: string[];
}> {
  const events: string[] = [];
  let dropped = false;
  const server = createServer((socket: Socket) => {
    sockets.push(socket);
    events.push('connection');
    let received = '';
    const idle =
      options.dropIdleMs !== undefined && !dropped
        ? setTimeout(() => {
            dropped = true;
            events.push('dropped');
            socket.destroy();
          }, options.dropIdleMs)
        : undefined;
    socket.on('data', (chunk: Buffer) => {
      clearTimeout(idle);
      if (received === '') events.push('bytes');
      received += chunk.toString();
      if (!received.includes('\r\n\r\n')) return;
      received = '';
      const body = '{"ok":true}';
      socket.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/v1/thing`), events };
}

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  // The client keeps its connections open for the next request: close them from here.
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) {
    await new Promise((resolve) => server.close(resolve));
  }
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function get(url: URL, gate: () => Promise<void>): Promise<unknown> {
  return requestJson({
    provider: 'test',
    url,
    signal: new AbortController().signal,
    gate,
    errorMessage: () => undefined,
  });
}

describe('requestJson paces at send: the gate between the open connection and the write', () => {
  it('awaits the gate on a connection already accepted, and writes nothing before it opens', async () => {
    const { url, events } = await tcpServer();
    const seen: string[][] = [];
    const answer = await get(url, async () => {
      seen.push([...events]);
      await sleep(100);
      seen.push([...events]);
    });
    expect(answer).toEqual({ ok: true });
    expect(seen).toEqual([['connection'], ['connection']]);
    expect(events).toEqual(['connection', 'bytes']);
  });

  it('sends on a new connection, without a second take, when the server drops the one the gate held', async () => {
    const { url, events } = await tcpServer({ dropIdleMs: 50 });
    let takes = 0;
    const answer = await get(url, async () => {
      takes += 1;
      await sleep(200);
    });
    expect(answer).toEqual({ ok: true });
    expect(takes).toBe(1);
    expect(events).toEqual(['connection', 'dropped', 'connection', 'bytes']);
  });

  it("a gate's rejection is the request's, not a network failure", async () => {
    const { url, events } = await tcpServer();
    const reason = new Error('cancelled while waiting for the budget');
    await expect(get(url, () => Promise.reject(reason))).rejects.toBe(reason);
    expect(events).toEqual(['connection']);
  });
});
