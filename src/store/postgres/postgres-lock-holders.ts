import type pg from 'pg';

/** A session holding a lock on one of the schema's tables, as pg_locks and pg_stat_activity see it. */
interface LockHolderRow {
  readonly relname: string;
  readonly pid: number;
  readonly mode: string;
  readonly state: string | null;
  readonly application_name: string | null;
  readonly xact_start: Date | null;
}

/**
 * The other sessions holding locks on tables of `schemaName`, for a message, e.g.
 * `bars_ohlcv (AccessShareLock by pid 4242, idle in transaction since 2024-06-01T10:00:00.000Z,
 * application psql)`; '' when none is left by the time we look.
 */
export async function describeLockHolders(
  client: pg.ClientBase,
  schemaName: string,
): Promise<string> {
  const result = await client.query<LockHolderRow>(
    `SELECT c.relname, l.pid, l.mode, a.state, a.application_name, a.xact_start
     FROM pg_locks l
     JOIN pg_class c ON c.oid = l.relation
     JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND l.granted
       AND l.pid <> pg_backend_pid()
     ORDER BY c.relname, l.pid`,
    [schemaName],
  );
  return result.rows.map(describeHolder).join('; ');
}

/** The session holding the advisory lock `key` (hashed as migrations take it), if any. */
export async function describeAdvisoryHolder(client: pg.ClientBase, key: string): Promise<string> {
  // A bigint advisory key is kept as classid (high 32 bits) and objid (low 32 bits).
  const result = await client.query<Omit<LockHolderRow, 'relname' | 'mode'>>(
    `SELECT l.pid, a.state, a.application_name, a.xact_start
     FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
       AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)`,
    [key],
  );
  return result.rows.map((row) => sessionOf(row)).join('; ');
}

function describeHolder(row: LockHolderRow): string {
  return `${row.relname} (${row.mode} by ${sessionOf(row)})`;
}

function sessionOf(row: Omit<LockHolderRow, 'relname' | 'mode'>): string {
  const since = row.xact_start === null ? '' : ` since ${row.xact_start.toISOString()}`;
  const state = row.state === null ? '' : `, ${row.state}${since}`;
  const application =
    row.application_name === null || row.application_name === ''
      ? ''
      : `, application ${row.application_name}`;
  return `pid ${row.pid}${state}${application}`;
}
