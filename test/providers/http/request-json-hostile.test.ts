import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requestJson } from '../../../src/providers/http/request-json.js';

/**
 * Review of issue 13: requestJson moved from fetch to node:http(s) with keep-alive agents and a
 * SendGate between the open connection and the write. A hostile provider, over real servers.
 */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listen(server: Server | HttpServer, host = '127.0.0.1'): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

function get(
  url: URL,
  gate?: () => Promise<void>,
  signal?: AbortSignal,
  headers?: Record<string, string>,
): Promise<unknown> {
  return requestJson({
    provider: 'hostile',
    url,
    headers,
    signal: signal ?? AbortSignal.timeout(5000),
    gate,
    errorMessage: () => undefined,
  });
}

const CREDENTIALS = {
  authorization: 'Bearer polygon-key',
  'APCA-API-KEY-ID': 'alpaca-id',
  'APCA-API-SECRET-KEY': 'alpaca-secret',
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('requestJson against a hostile provider (review 13)', () => {
  it('follows a 3xx redirect to the JSON, as the fetch-based client did before', async () => {
    const server = createHttpServer((req, res) => {
      if (req.url === '/v1/old') {
        res.writeHead(301, { location: '/v1/new' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const port = await listen(server);
    // fetch followed it; the node:http client of this session answered a bare permanent error.
    await expect(get(new URL(`http://127.0.0.1:${port}/v1/old`))).resolves.toEqual({ ok: true });
  });

  it(
    'a server answering 408 on the idle connection the gate holds does not hang the request',
    { timeout: 15000 },
    async () => {
      // Servers that time out a connection that sent no request (headers timeout) answer 408 and
      // close it. The gate held that connection with nothing written on it: the request should be
      // sent on a new connection (as for a plain close), or fail at once; not wait for its timeout.
      let connections = 0;
      const server = createServer((socket) => {
        connections += 1;
        if (connections === 1) {
          setTimeout(() => {
            socket.end(
              'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n',
            );
          }, 50);
          return;
        }
        socket.once('data', () => {
          const body = '{"ok":true}';
          socket.end(
            `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
          );
        });
      });
      const port = await listen(server);
      // HAProxy (timeout http-request, without option http-ignore-probes) does this to a
      // connection that sent nothing. The request's own signal aborts at 2 s: even that must end it.
      let takes = 0;
      const outcome = await Promise.race([
        get(
          new URL(`http://127.0.0.1:${port}/v1/thing`),
          () => {
            takes += 1;
            return sleep(300);
          },
          AbortSignal.timeout(2000),
        ).then(
          (value) => ({ value }),
          (error: unknown) => ({ error: String(error) }),
        ),
        sleep(8000).then(() => ({ hung: 'still pending 8 s later, 6 s after its signal aborted' })),
      ]);
      expect(outcome).toEqual({ value: { ok: true } });
      // Nothing was written on the dropped connection: the one take stands for the request.
      expect(takes).toBe(1);
      expect(connections).toBe(2);
    },
  );

  it('refuses a self-signed certificate over https', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mdp-review-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const server = createHttpsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
    );
    const port = await listen(server);
    let gated = 0;
    const error = await get(new URL(`https://127.0.0.1:${port}/v1/thing`), async () => {
      gated += 1;
    }).catch((thrown: unknown) => thrown);
    expect(String(error)).toMatch(/self.signed|certificate/i);
    expect(gated).toBe(0);
  });

  it('a connection refused is MDP_PROVIDER_TRANSIENT naming the host, with no take', async () => {
    const server = createServer();
    const port = await listen(server);
    await new Promise((resolve) => server.close(resolve));
    let gated = 0;
    const error = (await get(new URL(`http://127.0.0.1:${port}/v1/thing`), async () => {
      gated += 1;
    }).catch((thrown: unknown) => thrown)) as { code?: string; message?: string };
    expect(error.code).toBe('MDP_PROVIDER_TRANSIENT');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('ECONNREFUSED');
    expect(gated).toBe(0);
  });

  it('a body cut short of its content-length is a transient failure, not a hang', async () => {
    const server = createServer((socket) => {
      socket.once('data', () => {
        socket.end(
          'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"ok":',
        );
      });
    });
    const port = await listen(server);
    const error = (await get(new URL(`http://127.0.0.1:${port}/v1/thing`)).catch(
      (thrown: unknown) => thrown,
    )) as { code?: string };
    expect(error.code).toBe('MDP_PROVIDER_TRANSIENT');
  });

  it('reads gzip and br answers, chunked', async () => {
    const { gzipSync, brotliCompressSync } = await import('node:zlib');
    const server = createHttpServer((req, res) => {
      const body = Buffer.from(JSON.stringify({ ok: req.url }));
      const br = req.url === '/br';
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': br ? 'br' : 'gzip',
        'transfer-encoding': 'chunked',
      });
      res.end(br ? brotliCompressSync(body) : gzipSync(body));
    });
    const port = await listen(server);
    await expect(get(new URL(`http://127.0.0.1:${port}/gz`))).resolves.toEqual({ ok: '/gz' });
    await expect(get(new URL(`http://127.0.0.1:${port}/br`))).resolves.toEqual({ ok: '/br' });
  });

  it('a 429 with content-encoding gzip and an empty body is still a 429 with its Retry-After', async () => {
    // fetch (undici) decoded leniently (finishFlush Z_SYNC_FLUSH): an empty or cut gzip body was
    // read as empty, and the 429 kept its meaning. A strict gunzip throws "unexpected end of file".
    const server = createHttpServer((_req, res) => {
      res.writeHead(429, { 'content-encoding': 'gzip', 'retry-after': '7', 'content-length': '0' });
      res.end();
    });
    const port = await listen(server);
    const error = (await get(new URL(`http://127.0.0.1:${port}/v1/thing`)).catch(
      (thrown: unknown) => thrown,
    )) as { message?: string; status?: number; rateLimited?: boolean; retryAfterMs?: number };
    expect({
      message: error.message,
      status: error.status,
      rateLimited: error.rateLimited,
      retryAfterMs: error.retryAfterMs,
    }).toMatchObject({ status: 429, rateLimited: true, retryAfterMs: 7000 });
  });

  it('a server closing each keep-alive connection right after answering: sequential requests all succeed', async () => {
    const server = createServer((socket) => {
      socket.once('data', () => {
        const body = '{"ok":true}';
        // No "connection: close": the client believes it may reuse the connection.
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
          () => setTimeout(() => socket.destroy(), 5),
        );
      });
    });
    const port = await listen(server);
    const url = new URL(`http://127.0.0.1:${port}/v1/thing`);
    const failures: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      await get(url, () => sleep(5)).catch((thrown: unknown) => failures.push(String(thrown)));
      await sleep(3);
    }
    expect(failures).toEqual([]);
  });

  it('an abort while the gate waits, and while in flight, rejects at once with the reason', async () => {
    const server = createHttpServer(() => undefined); // accepts, never answers
    const port = await listen(server);
    const url = new URL(`http://127.0.0.1:${port}/v1/thing`);
    const inGate = new AbortController();
    const reasonA = new Error('cancel in gate');
    setTimeout(() => inGate.abort(reasonA), 100);
    await expect(
      get(
        url,
        () =>
          new Promise((_, reject) =>
            inGate.signal.addEventListener('abort', () => reject(inGate.signal.reason)),
          ),
        inGate.signal,
      ),
    ).rejects.toBe(reasonA);
    const inFlight = new AbortController();
    const reasonB = new Error('cancel in flight');
    setTimeout(() => inFlight.abort(reasonB), 100);
    await expect(get(url, async () => undefined, inFlight.signal)).rejects.toBe(reasonB);
  });

  it('a redirect keeps the credentials on the same origin, sends none to another, and each hop takes a token', async () => {
    const seen: { where: string; headers: Record<string, unknown> }[] = [];
    const other = createHttpServer((req, res) => {
      seen.push({ where: `other${req.url}`, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"at":"other"}');
    });
    // "localhost" and "127.0.0.1" are different origins even on one port; a second port as well.
    const otherPort = await listen(other);
    const server = createHttpServer((req, res) => {
      seen.push({ where: `home${req.url}`, headers: req.headers });
      if (req.url === '/a') res.writeHead(307, { location: '/b?x=1' }).end();
      else if (req.url === '/b?x=1') {
        res.writeHead(302, { location: `http://localhost:${otherPort}/c` }).end();
      } else res.writeHead(404).end();
    });
    const port = await listen(server);
    let takes = 0;
    const gate = async (): Promise<void> => {
      takes += 1;
    };
    await expect(
      get(new URL(`http://127.0.0.1:${port}/a`), gate, undefined, CREDENTIALS),
    ).resolves.toEqual({ at: 'other' });
    expect(seen.map((one) => one.where)).toEqual(['home/a', 'home/b?x=1', 'other/c']);
    for (const one of seen.slice(0, 2)) {
      expect(one.headers).toMatchObject({
        authorization: 'Bearer polygon-key',
        'apca-api-key-id': 'alpaca-id',
        'apca-api-secret-key': 'alpaca-secret',
      });
    }
    const sentAway = seen[2]!.headers;
    expect(sentAway.authorization).toBeUndefined();
    expect(sentAway['apca-api-key-id']).toBeUndefined();
    expect(sentAway['apca-api-secret-key']).toBeUndefined();
    expect(takes).toBe(3);
  });

  it('a redirect loop is a permanent error naming where it led and base_url, not a hang', async () => {
    const server = createHttpServer((req, res) => {
      const n = Number(req.url!.slice(1));
      res.writeHead(302, { location: `/${n + 1}` }).end();
    });
    const port = await listen(server);
    const error = (await get(new URL(`http://127.0.0.1:${port}/0`)).catch(
      (thrown: unknown) => thrown,
    )) as { code?: string; message?: string };
    expect(error.code).toBe('MDP_PROVIDER_PERMANENT');
    expect(error.message).toContain('redirected more than 20 times');
    expect(error.message).toContain('/21');
    expect(error.message).toContain('base_url');
  });

  it('an error answer after a redirect names the URL it was redirected to', async () => {
    const server = createHttpServer((req, res) => {
      if (req.url === '/old') res.writeHead(301, { location: '/gone' }).end();
      else res.writeHead(404).end();
    });
    const port = await listen(server);
    const error = (await get(new URL(`http://127.0.0.1:${port}/old`)).catch(
      (thrown: unknown) => thrown,
    )) as { code?: string; message?: string };
    expect(error.code).toBe('MDP_PROVIDER_PERMANENT');
    expect(error.message).toContain(`redirected to http://127.0.0.1:${port}/gone`);
    expect(error.message).toContain('404');
  });

  it('reads zlib and raw deflate, and a list of encodings (gzip, br), as fetch did', async () => {
    const { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } = await import('node:zlib');
    const server = createHttpServer((req, res) => {
      const body = Buffer.from(JSON.stringify({ ok: req.url }));
      const encoded: Record<string, [string, Buffer]> = {
        '/deflate': ['deflate', deflateSync(body)],
        '/raw': ['deflate', deflateRawSync(body)],
        '/list': ['gzip, br', brotliCompressSync(gzipSync(body))],
        '/unknown': ['compress', body],
      };
      const [encoding, sent] = encoded[req.url!]!;
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding });
      res.end(sent);
    });
    const port = await listen(server);
    for (const path of ['/deflate', '/raw', '/list', '/unknown']) {
      await expect(get(new URL(`http://127.0.0.1:${port}${path}`))).resolves.toEqual({ ok: path });
    }
  });

  it('a 503 whose body cannot be decoded is still a 503 with its Retry-After; a 200 so is transient', async () => {
    const server = createHttpServer((req, res) => {
      const status = req.url === '/busy' ? 503 : 200;
      res.writeHead(status, { 'content-encoding': 'gzip', 'retry-after': '3' });
      res.end('this is not gzip');
    });
    const port = await listen(server);
    const busy = (await get(new URL(`http://127.0.0.1:${port}/busy`)).catch(
      (thrown: unknown) => thrown,
    )) as { code?: string; status?: number; retryAfterMs?: number };
    expect({ code: busy.code, status: busy.status, retryAfterMs: busy.retryAfterMs }).toEqual({
      code: 'MDP_PROVIDER_TRANSIENT',
      status: 503,
      retryAfterMs: 3000,
    });
    const ok = (await get(new URL(`http://127.0.0.1:${port}/ok`)).catch(
      (thrown: unknown) => thrown,
    )) as { code?: string; message?: string };
    expect(ok.code).toBe('MDP_PROVIDER_TRANSIENT');
    expect(ok.message).toContain('cannot be decoded (content-encoding gzip)');
  });

  it('an abort while the gate holds a connection the server already closed rejects at once with the reason', async () => {
    const server = createServer((socket) => {
      setTimeout(() => socket.destroy(), 20);
    });
    const port = await listen(server);
    const controller = new AbortController();
    const reason = new Error('cancel while held');
    const outcome = await Promise.race([
      get(
        new URL(`http://127.0.0.1:${port}/v1/thing`),
        async () => {
          await sleep(100);
          controller.abort(reason);
          await sleep(5000); // a gate that ignores the signal: the abort alone must settle it
        },
        controller.signal,
      ).catch((thrown: unknown) => thrown),
      sleep(3000).then(() => 'still pending'),
    ]);
    expect(outcome).toBe(reason);
  });
});
