import { describeDuration } from '../duration.js';
import type { ConfigData } from './config-schema.js';
import type { CrossIssue } from './cross-check.js';

/**
 * Live jobs whose window never reaches a published bar: a live cycle asks for bars from
 * now − lookback (or − max_catchup) up to now − publication_delay, so a lookback or catch-up no
 * longer than the delay asks for nothing, ever, and each run would succeed with 0 rows. Checked
 * on the parsed config, where the per-type delay defaults are known. `has` tells whether a path
 * is written in the file, so the issue points at the key when there is one.
 */
export function liveWindowIssues(
  data: ConfigData,
  has: (path: readonly (string | number)[]) => boolean,
): CrossIssue[] {
  const issues: CrossIssue[] = [];
  for (const [name, job] of Object.entries(data.jobs)) {
    if (job.mode !== 'live') continue;
    const providerName = data.datasets[job.dataset]?.provider;
    const provider = providerName === undefined ? undefined : data.providers[providerName];
    const delay = provider?.publication_delay ?? 0;
    if (delay <= 0) continue;
    for (const key of ['lookback', 'max_catchup'] as const) {
      const span = job.live[key];
      if (span > delay) continue;
      const written = ['jobs', name, 'live', key];
      const path = has(written)
        ? written
        : has(['jobs', name, 'live'])
          ? written.slice(0, 3)
          : written.slice(0, 2);
      issues.push({
        path,
        message: `live.${key} (${describeDuration(span)}) is not longer than providers.${String(providerName)}.publication_delay (${describeDuration(delay)}): a live run asks only for bars published by now, so it would never store one; make live.${key} longer than the delay (e.g. ${describeDuration(delay + 60 * 60_000)})`,
      });
    }
  }
  return issues;
}
