/**
 * Review of issue 13: requestJson now keeps node:http(s) connections open (keep-alive agents)
 * and holds one open while a request waits at the pacing gate. SIGINT during a backfill whose
 * requests are in flight (a provider that accepts and never answers) and waiting at the gate
 * must still end `mdp backfill` promptly, exit 130, with no socket keeping the process alive.
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { writePolygonServeConfig } from '../helpers/polygon-serve-config.js';
import { collect, spawnCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const sockets = new Set<Socket>();
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  for (const close of closers.splice(0)) await close();
});

describe('mdp backfill against a provider that accepts and never answers', () => {
  it('exits 130 within seconds of SIGINT, with requests in flight and at the gate', async () => {
    let requests = 0;
    let connections = 0;
    const server = createServer((socket) => {
      connections += 1;
      sockets.add(socket);
      socket.on('data', () => (requests += 1));
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const dir = tempDir();
    const file = writePolygonServeConfig(dir, 'mdp', {
      storage: 'sqlite',
      baseUrl: `http://127.0.0.1:${port}`,
      pacing: { requests_per_minute: 2, burst: 1 },
      jobs: {
        history: {
          symbols: ['AAA', 'BBB', 'CCC'],
          job: {
            mode: 'backfill',
            execution: { concurrency: 3 },
            backfill: { start: '2023-01-03', end: '2023-01-06' },
          },
        },
      },
    });
    const child = spawnCli(['backfill', '--config', file, '--job', 'history']);
    const done = collect(child, 60_000);
    await waitFor('a request in flight and others at the gate', () =>
      requests >= 1 && connections >= 2 ? true : undefined,
    );
    const sentAt = Date.now();
    child.kill('SIGINT');
    const result = await done;
    const tookMs = Date.now() - sentAt;
    expect({ code: result.code, within10s: tookMs < 10_000 }, result.stderr).toEqual({
      code: 130,
      within10s: true,
    });
  });
});
