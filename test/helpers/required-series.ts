/** DESIGN.md's Telemetry table plus the heartbeat gauge (issue 6): each series' type and labels. */
export const REQUIRED_SERIES: Readonly<Record<string, { type: string; labels: string[] }>> = {
  pipeline_job_runs_total: { type: 'counter', labels: ['job_name', 'status'] },
  pipeline_rows_written_total: { type: 'counter', labels: ['job_name', 'provider'] },
  pipeline_batches_total: { type: 'counter', labels: ['job_name', 'provider'] },
  pipeline_provider_requests_total: { type: 'counter', labels: ['provider', 'status'] },
  pipeline_provider_rate_limit_violations_total: { type: 'counter', labels: ['provider'] },
  pipeline_active_jobs: { type: 'gauge', labels: ['job_name'] },
  pipeline_job_duration_seconds: { type: 'histogram', labels: ['job_name', 'mode'] },
  pipeline_batch_write_duration_seconds: { type: 'histogram', labels: ['storage'] },
  pipeline_provider_request_duration_seconds: { type: 'histogram', labels: ['provider'] },
  pipeline_storage_errors_total: { type: 'counter', labels: ['storage', 'kind'] },
  pipeline_job_last_success_timestamp_seconds: { type: 'gauge', labels: ['job_name'] },
  pipeline_bars_rejected_total: { type: 'counter', labels: ['provider', 'reason'] },
  pipeline_job_heartbeat_timestamp_seconds: { type: 'gauge', labels: ['job_name'] },
  pipeline_job_last_run_failed: { type: 'gauge', labels: ['job_name'] },
};
