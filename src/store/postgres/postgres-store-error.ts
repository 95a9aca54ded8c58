import { formatDuration } from '../../core/duration.js';
import { MdpError, StoreError } from '../../core/errors.js';
import { redactUri } from '../../core/redact.js';
import type { PostgresEndpoint, PostgresTimeouts } from './postgres-pool.js';
import { formatEndpoint } from './postgres-pool.js';

/** The `storage` label of every error this backend raises. */
const STORAGE = 'postgres';

/** What the store was doing when PostgreSQL failed; goes into the message. */
export type PostgresAction = 'connect' | 'open' | 'read' | 'write';

/**
 * The SQLSTATE of a server error, or the errno code of a socket error (`ECONNREFUSED`). Node
 * reports a connection tried on several addresses as an AggregateError of the attempts.
 */
function codeOf(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    if (error instanceof AggregateError) return codeOf(error.errors[0]);
  }
  return '';
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    return error.errors.map(messageOf).join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

/** Connection-level failures: the server went away or never answered, the batch may be retried. */
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03']);
const UNREACHABLE = new Set(['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);
/** Lock conflicts that a rolled-back transaction can simply try again. */
const CONTENTION = new Set(['40P01', '40001', '55P03', '53300']);
/** query_canceled: statement_timeout, or a cancel request (ours on a signal, or an operator's). */
const QUERY_CANCELED = '57014';

/**
 * Turns whatever node-postgres or the socket threw into a StoreError that names the server (never
 * the password) and the fix. MdpErrors (already explained) pass through unchanged.
 */
export function postgresStoreError(
  error: unknown,
  endpoint: PostgresEndpoint,
  action: PostgresAction,
  timeouts?: PostgresTimeouts,
): MdpError {
  if (error instanceof MdpError) return error;
  const code = codeOf(error);
  const message = messageOf(error);
  const detail = redactUri(`${message}${code ? ` (${code})` : ''}`);
  const where = formatEndpoint(endpoint);
  const server = `${endpoint.host}:${endpoint.port}`;
  const fail = (storeCode: `MDP_STORE_${string}`, text: string, transient = false): StoreError =>
    new StoreError(storeCode, STORAGE, redactUri(text), { cause: error, transient });

  if (code === '28P01' || code === '28000') {
    return fail(
      'MDP_STORE_AUTH',
      `${where} refused the login of user "${endpoint.user}": ${detail}. Check the user name ` +
        'and password in storage.primary.uri (the password is not shown), and that ' +
        "pg_hba.conf admits this user from this machine's address.",
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return fail(
      'MDP_STORE_HOST_UNKNOWN',
      `cannot resolve the host "${endpoint.host}" of storage.primary.uri (${code}). Check the ` +
        'host name for typos and that this machine can resolve it (DNS, /etc/hosts).',
      code === 'EAI_AGAIN',
    );
  }
  if (code === 'ECONNREFUSED') {
    return fail(
      'MDP_STORE_REFUSED',
      `${server} refused the connection: no PostgreSQL is listening there. Check that the ` +
        'server is running and that the host and port in storage.primary.uri are right.',
      true,
    );
  }
  if (code === '3D000') {
    return fail(
      'MDP_STORE_NO_DATABASE',
      `database "${endpoint.database}" does not exist on ${server}. Create it ` +
        `(createdb -h ${endpoint.host} -p ${endpoint.port} -U ${endpoint.user} ` +
        `${endpoint.database}) or fix the database name at the end of storage.primary.uri.`,
    );
  }
  // node-postgres's own wording for a connection not made in time (pg-pool and pg.Client).
  if (
    UNREACHABLE.has(code) ||
    /timeout exceeded when trying|due to connection timeout/i.test(message)
  ) {
    return fail(
      'MDP_STORE_TIMEOUT',
      `no connection to ${server} in time: ${detail}. Check that the host is up, that a ` +
        'firewall lets this machine reach the port, and the port in storage.primary.uri' +
        (action === 'connect' ? '.' : '; or the pool stayed busy with long statements.'),
      true,
    );
  }
  if (
    CONNECTION_LOST.has(code) ||
    code.startsWith('08') ||
    /Connection terminated|not queryable/i.test(message)
  ) {
    return fail(
      'MDP_STORE_CONNECTION_LOST',
      `lost the connection to ${where}: ${detail}. The server restarted, or the network or a ` +
        'proxy dropped the connection; the transaction in flight was rolled back.',
      true,
    );
  }
  // Waits past a limit end the same way whoever holds the lock: rolled back, tried again later.
  if (code === '55P03' && /lock timeout/i.test(message)) {
    const limit = timeouts === undefined ? '' : ` (${formatDuration(timeouts.lockMs)})`;
    return fail(
      'MDP_STORE_BUSY',
      `${where} waited past storage.primary.lock_timeout${limit} for a lock another session ` +
        `holds: ${detail}. The transaction was rolled back and can be retried; find the ` +
        'holder in pg_locks / pg_stat_activity, or raise lock_timeout.',
      true,
    );
  }
  if (code === QUERY_CANCELED) {
    const timedOut = /statement timeout/i.test(message);
    const limit =
      timedOut && timeouts !== undefined ? ` (${formatDuration(timeouts.statementMs)})` : '';
    return fail(
      'MDP_STORE_TIMEOUT',
      timedOut
        ? `a statement on ${where} ran past storage.primary.statement_timeout${limit}: ` +
            `${detail}. The transaction was rolled back and can be retried; if the server is ` +
            'merely slow, raise statement_timeout.'
        : `a statement on ${where} was cancelled: ${detail}. The transaction was rolled back ` +
            'and can be retried.',
      true,
    );
  }
  if (CONTENTION.has(code)) {
    return fail(
      'MDP_STORE_BUSY',
      `${where} could not take the locks or connection it needed: ${detail}. Another writer ` +
        'held conflicting rows (or the server is out of connections); the transaction was ' +
        'rolled back and can be retried.',
      true,
    );
  }
  if (code === '42501') {
    return fail(
      'MDP_STORE_PERMISSION',
      `user "${endpoint.user}" lacks a privilege on ${where}: ${detail}. Grant it (CREATE on ` +
        'the database to create the schema; USAGE and CREATE on the schema), or set ' +
        'storage.primary.schema to a schema this user owns.',
    );
  }
  if (code === '53100') {
    return fail(
      'MDP_STORE_FULL',
      `the disk of ${server} is full: ${detail}. Free space on the server; the failed ` +
        'transaction was rolled back.',
    );
  }
  if (code === '25006') {
    return fail(
      'MDP_STORE_READONLY',
      `${where} accepts no writes: ${detail}. It is probably a standby; point ` +
        'storage.primary.uri at the primary server.',
    );
  }
  const storeCode =
    action === 'connect' || action === 'open'
      ? 'MDP_STORE_OPEN'
      : action === 'read'
        ? 'MDP_STORE_READ'
        : 'MDP_STORE_WRITE';
  return fail(
    storeCode,
    `${action} failed on ${where}: ${detail}.` +
      (action === 'write' ? ' The transaction was rolled back; nothing of it was kept.' : ''),
  );
}
