import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigFileError } from '../errors.js';

/** The default file when neither `--config` nor `$MDP_CONFIG` names one. */
export const DEFAULT_CONFIG_FILE = 'mdp.yaml';

/** `--config`, else `$MDP_CONFIG`, else `./mdp.yaml`, as an absolute path. */
export function resolveConfigPath(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): string {
  if (flag) return resolve(cwd, flag);
  if (env.MDP_CONFIG) return resolve(cwd, env.MDP_CONFIG);
  const fallback = resolve(cwd, DEFAULT_CONFIG_FILE);
  if (existsSync(fallback)) return fallback;
  throw new ConfigFileError(
    `no config file: pass --config FILE, set MDP_CONFIG, or create ./${DEFAULT_CONFIG_FILE} in ${cwd} (configs/sample.yaml is a working example)`,
  );
}
