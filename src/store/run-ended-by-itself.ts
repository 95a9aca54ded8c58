/**
 * Whether a run's row, found not `running` when the run records its end, holds an end the run
 * recorded itself: a completion retried after its commit lost its acknowledgement. Only the run
 * ends its own row as success, failure or cancelled; `abandoned` is another process's verdict,
 * and a missing row (deleted by hand) records no run at all.
 */
export function endedByItself(row: { readonly status: string } | undefined): boolean {
  return row !== undefined && row.status !== 'abandoned' && row.status !== 'running';
}
