import type { Logger } from 'pino';
import type { MdpConfig } from '../../src/core/config/load-config.js';
import { ProviderRegistry } from '../../src/core/provider-registry.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { systemTiming } from '../../src/pipeline/timing.js';
import { SyntheticProvider } from '../../src/providers/synthetic/synthetic-provider.js';
import { ProcessRuntime } from '../../src/service/process-runtime.js';

/** A process runtime of `config` with the synthetic provider, no spool, on the system clock. */
export function syntheticRuntime(config: MdpConfig, logger: Logger): ProcessRuntime {
  return new ProcessRuntime(config, {
    providers: new ProviderRegistry().register(
      'synthetic',
      (name, cfg) => new SyntheticProvider(name, cfg),
    ),
    pacing: new PacingRegistry(systemTiming),
    createSpool: () => undefined,
    logger,
    host: 'test-host',
    pid: process.pid,
  });
}
