import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { MdpConfig } from '../core/config/load-config.js';
import type { ProviderRegistry } from '../core/provider-registry.js';
import type { PacingRegistry } from '../pipeline/policies/pacing-registry.js';
import type { RunEvents } from '../pipeline/run-events.js';
import { JobRunner } from '../pipeline/runner/job-runner.js';
import type { Timing } from '../pipeline/timing.js';
import type { Spool } from '../store/spool.js';
import type { ProcessIdentity, Store } from '../store/store.js';

/** What the composition root (src/cli/runtime.ts) picks for the whole process. */
export interface ProcessRuntimeDeps {
  /** Every provider `type:` registered; one instance per configured name lives here. */
  readonly providers: ProviderRegistry;
  /** One bucket and cooldown per provider for every run of the process. */
  readonly pacing: PacingRegistry;
  /** `storage.spool` of a config, for live runs; undefined when disabled. */
  readonly createSpool: (config: MdpConfig) => Spool | undefined;
  readonly logger: Logger;
  readonly host: string;
  readonly pid: number;
  readonly identity?: ProcessIdentity;
  readonly timing?: Timing;
}

/** What one run brings to its runner: the open store and the run's own events and spool. */
export interface RunnerParts {
  readonly store: Store;
  readonly events: RunEvents;
  readonly spool?: Spool;
}

/**
 * What a process keeps across runs: the config of the current generation and the provider and
 * pacing registries every run of the process shares, so two jobs on one provider draw from one
 * bucket. `reconfigure` starts a new generation: providers whose config changed are rebuilt at
 * their next use (runs already going finish with the instance they hold); a changed `pacing:`
 * reconfigures the provider's bucket and cooldown in place, for runs already going too, and they
 * keep their state (a bucket its level, a cooldown its pause).
 */
export class ProcessRuntime {
  private current: MdpConfig;
  private generationNumber = 1;

  constructor(
    config: MdpConfig,
    private readonly deps: ProcessRuntimeDeps,
  ) {
    this.current = config;
  }

  /** The config runs started now get. */
  get config(): MdpConfig {
    return this.current;
  }

  /** 1 at the start, one more per `reconfigure`. */
  get generation(): number {
    return this.generationNumber;
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  /** The spool a live run of the current config writes to while the primary is away. */
  createSpool(): Spool | undefined {
    return this.deps.createSpool(this.current);
  }

  /**
   * Makes `config` the one of the next runs; returns the providers whose instance was dropped or
   * whose pacing changed (changed, disabled or removed). A changed pacing applies at once to
   * runs already going too: one provider has one budget.
   */
  reconfigure(config: MdpConfig): string[] {
    const changed = changedProviders(this.current, config);
    for (const name of changed.instances) this.deps.providers.forget(name);
    // In place, not dropped: the provider's pacing state is the server's (see PacingRegistry).
    for (const [name, provider] of Object.entries(config.providers))
      this.deps.pacing.reconfigure(name, provider.pacing);
    this.current = config;
    this.generationNumber += 1;
    return [...new Set([...changed.instances, ...changed.pacing])].sort();
  }

  /** A runner of the current generation over the shared registries. */
  runner(parts: RunnerParts): JobRunner {
    const { deps } = this;
    return new JobRunner({
      config: this.current,
      store: parts.store,
      spool: parts.spool,
      providers: deps.providers,
      pacing: deps.pacing,
      events: parts.events,
      logger: deps.logger,
      host: deps.host,
      pid: deps.pid,
      ...(deps.identity ? { identity: deps.identity } : {}),
      ...(deps.timing ? { timing: deps.timing } : {}),
    });
  }
}

/**
 * Providers whose instance must be rebuilt (anything but `pacing:` changed) and whose pacing must
 * (its `pacing:` changed); a provider gone from the config drops both.
 */
function changedProviders(
  before: MdpConfig,
  after: MdpConfig,
): { instances: string[]; pacing: string[] } {
  const instances: string[] = [];
  const pacing: string[] = [];
  for (const [name, old] of Object.entries(before.providers)) {
    const next = after.providers[name];
    if (!next) {
      instances.push(name);
      pacing.push(name);
      continue;
    }
    if (!isDeepStrictEqual(withoutPacing(old), withoutPacing(next))) instances.push(name);
    if (!isDeepStrictEqual(old.pacing, next.pacing)) pacing.push(name);
  }
  return { instances, pacing };
}

function withoutPacing(config: MdpConfig['providers'][string]): object {
  const { pacing: _pacing, ...rest } = config;
  return rest;
}
