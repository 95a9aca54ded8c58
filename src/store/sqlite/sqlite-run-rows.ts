import { jobRunFromRow, type JobRunRow } from '../run-rows.js';
import type { JobRun } from '../store.js';

/** One `job_runs` row as better-sqlite3 returns it: dry_run 0 or 1, params JSON text. */
export type SqliteJobRunRow = Omit<JobRunRow, 'dry_run' | 'params'> & {
  dry_run: number;
  params: string;
};

/** The row as the protocol's JobRun, once SQLite's integer flag and JSON text are converted. */
export function jobRunFromSqliteRow(row: SqliteJobRunRow): JobRun {
  return jobRunFromRow({ ...row, dry_run: row.dry_run === 1, params: parseJson(row.params) });
}

/** Text that is not JSON is kept as `{ unparsed }`, shown rather than thrown. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { unparsed: text };
  }
}
