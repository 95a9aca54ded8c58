import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 a moment ago: the kernel's pick for listen(0), released again. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Holds a port on 127.0.0.1 until `release()`, to prove what happens when it is taken. */
export function occupyPort(): Promise<{ port: number; release(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ port, release: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
