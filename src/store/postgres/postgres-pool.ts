import pg from 'pg';
import { StoreError } from '../../core/errors.js';
import { redactUri } from '../../core/redact.js';

/** Where a URI points, as node-postgres resolves it; never the password. */
export interface PostgresEndpoint {
  readonly user: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
}

/** `user@host:port/database`, for messages. */
export function formatEndpoint(endpoint: PostgresEndpoint): string {
  return `${endpoint.user}@${endpoint.host}:${endpoint.port}/${endpoint.database}`;
}

/**
 * Resolves the URI the way the driver will (missing parts come from PGUSER, PGHOST… and the
 * libpq defaults), so messages name the server that was actually tried.
 */
export function postgresEndpoint(uri: string): PostgresEndpoint {
  let client: pg.Client;
  try {
    client = new pg.Client({ connectionString: uri });
  } catch (error: unknown) {
    throw new StoreError(
      'MDP_STORE_CONFIG',
      'postgres',
      `storage uri ${redactUri(uri)} is not a connection URI: ` +
        `${error instanceof Error ? error.message : String(error)}; write it as ` +
        'postgresql://user:password@host:5432/database (percent-encode special characters)',
      { cause: error },
    );
  }
  return {
    user: client.user ?? '',
    host: client.host,
    port: client.port,
    database: client.database ?? '',
  };
}

/** int8 (counts, run ids) as a number: every value we store is far below 2^53. */
const INT8_OID = 20;

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (text: string) => Number(text)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** How long a statement may run, and wait for a lock, before the server cancels it. */
export interface PostgresTimeouts {
  /** `storage.primary.statement_timeout` */
  readonly statementMs: number;
  /** `storage.primary.lock_timeout` */
  readonly lockMs: number;
  /** `storage.primary.idle_in_transaction_timeout`; the default's when left out. */
  readonly idleInTransactionMs?: number;
}

/** The config's defaults, for stores opened without a config (tools, tests). */
export const DEFAULT_POSTGRES_TIMEOUTS = {
  statementMs: 300_000,
  lockMs: 30_000,
  idleInTransactionMs: 60_000,
} as const satisfies PostgresTimeouts;

/** Options of `createPostgresPool`. */
export interface PostgresPoolOptions {
  /** Connections at most: the runner's concurrent writes plus heartbeats and reads. */
  readonly max: number;
  /** Gives up on an unreachable server after this long. */
  readonly connectTimeoutMs: number;
  /** Set on every connection at login, so no statement (a heartbeat included) waits forever. */
  readonly timeouts?: PostgresTimeouts;
}

/**
 * A node-postgres pool configured the way every store connection needs. A connection the server
 * drops while checked out (a restart in the middle of a batch) emits 'error' with no listener of
 * the pool's attached, which would crash the process: each connection gets one for its whole
 * life. The statement in flight fails on its own; the broken connection is discarded when
 * released, and the pool opens fresh ones once the server is back.
 */
export function createPostgresPool(uri: string, options: PostgresPoolOptions): pg.Pool {
  const timeouts = options.timeouts ?? DEFAULT_POSTGRES_TIMEOUTS;
  const pool = new pg.Pool({
    connectionString: uri,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    // The URI's own application_name, if any, wins.
    fallback_application_name: 'mdp',
    // Float output must round-trip exactly whatever the server's default: with 3, PostgreSQL 12+
    // prints the shortest exact form, older servers 17 significant digits.
    // Without timeouts, a table lock held by another session stalls a write for good while the
    // run's heartbeats (on other tables) stay healthy. A process frozen (SIGSTOP, a VM pause) or
    // cut off inside a transaction would keep its locks (rows it upserted, a job's advisory lock)
    // until it resumes or TCP gives up: the server ends such a session instead, and the run that
    // took the job over proceeds.
    options:
      '-c extra_float_digits=3' +
      ` -c statement_timeout=${Math.round(timeouts.statementMs)}` +
      ` -c lock_timeout=${Math.round(timeouts.lockMs)}` +
      ` -c idle_in_transaction_session_timeout=${Math.round(
        timeouts.idleInTransactionMs ?? DEFAULT_POSTGRES_TIMEOUTS.idleInTransactionMs,
      )}`,
    types,
  });
  pool.on('connect', (client) => client.on('error', ignoreConnectionError));
  return pool;
}

/** The query in flight (if any) carries the error to its caller; the event has nothing to add. */
function ignoreConnectionError(): void {}
