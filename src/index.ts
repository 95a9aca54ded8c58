export { loadConfig, parseConfig } from './core/config/load-config.js';
export type { MdpConfig, ConfigSource, LoadConfigOptions } from './core/config/load-config.js';
export type {
  ConfigInput,
  ConfigData,
  ProviderConfig,
  StorageConfig,
  DatasetConfig,
  JobConfig,
  RetryConfig,
  PacingConfig,
} from './core/config/config-schema.js';
export {
  MdpError,
  ConfigError,
  ConfigFileError,
  UsageError,
  TransientProviderError,
  PermanentProviderError,
  StoreError,
  JobLockedError,
  CancelledError,
} from './core/errors.js';
export type { ConfigIssue, CancelReason } from './core/errors.js';
export { childController, type ChildController } from './core/child-controller.js';
export type { Bar } from './core/bar.js';
export { INTERVALS, intervalMs, alignUp, alignDown } from './core/interval.js';
export type { Interval } from './core/interval.js';
export type {
  Provider,
  BatchProvider,
  FetchRequest,
  BatchFetchRequest,
  FetchResult,
  UnparsedRow,
} from './core/provider.js';
export { toFetchResult, isBatchProvider } from './core/provider.js';
