import { join } from 'node:path';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { schemaForDir } from './postgres-test-names.js';
import { useTestPostgresPool } from './postgres-test-server.js';
import type { StorageKind } from './test-storage.js';

/**
 * What an operator (or a reaper on another host) types in a SQL shell against the `job_runs` of
 * a test dir's data, in a session of its own. Call at module level: it registers the PostgreSQL
 * pool's hooks.
 */
export function useOperatorSql(): (
  kind: StorageKind,
  dir: string,
  sql: (runs: string) => string,
) => Promise<void> {
  const pool = useTestPostgresPool();
  return async (kind, dir, sql) => {
    if (kind === 'sqlite') {
      const db = new SqliteDatabase(join(dir, 'data', 'test.db'));
      try {
        db.prepare(sql('job_runs')).run();
      } finally {
        db.close();
      }
      return;
    }
    await pool().query(sql(`"${schemaForDir(dir)}".job_runs`));
  };
}
