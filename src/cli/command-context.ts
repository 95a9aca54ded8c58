import { loadConfig, type MdpConfig } from '../core/config/load-config.js';

/** What every command gets from the program: config loading with the CLI's environment, and output. */
export interface CommandContext {
  loadConfig(options: { config?: string; profile?: string }): MdpConfig;
  print(text: string): void;
  /** True when `--verbose` was given: stacks in errors and log lines. */
  verbose(): boolean;
  /** Ends the process now (a second interrupt); everything else returns an exit code from main. */
  exit(code: number): never;
}

/** The context of a real process; remembers the loaded config so errors can mask its secrets. */
export function createCommandContext(
  state: { config?: MdpConfig },
  verbose: () => boolean,
): CommandContext {
  return {
    verbose,
    loadConfig(options) {
      const config = loadConfig({
        file: options.config,
        profile: options.profile,
        env: process.env,
        cwd: process.cwd(),
      });
      state.config = config;
      return config;
    },
    print(text) {
      process.stdout.write(`${state.config ? state.config.redactor.redact(text) : text}\n`);
    },
    exit(code) {
      process.exit(code);
    },
  };
}
