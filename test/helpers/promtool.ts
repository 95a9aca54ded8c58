import { spawnSync } from 'node:child_process';

/** True when `tool --version` runs, i.e. the binary is on PATH. */
function installed(tool: string): boolean {
  const probe = spawnSync(tool, ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/** Whether Debian's `prometheus` package (promtool and prometheus) is installed. */
export const PROMTOOL_INSTALLED = installed('promtool');
export const PROMETHEUS_INSTALLED = installed('prometheus');

/**
 * CI sets CI=true and installs the tools (.ci/run); there a missing tool is a failure, not a
 * skip, so the checks that need it can never silently stop running.
 */
export const IN_CI = process.env.CI === 'true';

export const INSTALL_HINT =
  'not installed: apt-get install --no-install-recommends prometheus (CI installs it in .ci/run)';

export interface PromtoolResult {
  readonly status: number | null;
  readonly output: string;
}

/** Runs `promtool ARGS` (with `input` on stdin), returning its exit status and all its output. */
export function promtool(args: readonly string[], input?: string): PromtoolResult {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
