import type { ProviderConfig } from './config/config-schema.js';
import { UsageError } from './errors.js';
import type { Provider } from './provider.js';

/** Builds a provider of one `type:` from its config entry. */
export type ProviderFactory<C extends ProviderConfig = ProviderConfig> = (
  name: string,
  config: C,
) => Provider;

/**
 * Maps each provider `type:` to its factory and keeps one instance per configured provider name,
 * so every job and chunk of the process shares it (and its server-side state).
 */
export class ProviderRegistry {
  private readonly factories = new Map<string, ProviderFactory>();
  private readonly instances = new Map<string, Provider>();

  register<T extends ProviderConfig['type']>(
    type: T,
    factory: ProviderFactory<Extract<ProviderConfig, { type: T }>>,
  ): this {
    this.factories.set(type, factory as ProviderFactory);
    return this;
  }

  /** The provider named `name` in the config, created on first use. */
  get(name: string, config: ProviderConfig): Provider {
    const existing = this.instances.get(name);
    if (existing) return existing;
    const factory = this.factories.get(config.type);
    if (!factory) {
      throw new UsageError(
        `provider ${name}: type "${config.type}" is not available in this build of mdp; known types: ${[...this.factories.keys()].join(', ')}`,
      );
    }
    const provider = factory(name, config);
    this.instances.set(name, provider);
    return provider;
  }

  /** Drops the instance of `name` (its config changed or went away): the next `get` builds anew. */
  forget(name: string): void {
    this.instances.delete(name);
  }
}
