import type { Bar } from '../../core/bar.js';
import type { SyntheticProviderConfig } from '../../core/config/config-schema.js';
import { PermanentProviderError, TransientProviderError } from '../../core/errors.js';
import { alignUp, intervalMs, isInterval } from '../../core/interval.js';
import type { FetchRequest, Provider } from '../../core/provider.js';
import { abortableSleep } from '../../core/abortable-sleep.js';
import { mix32, seedKey, toUnit } from './hash32.js';
import { SimulatedFaults } from './simulated-faults.js';
import { SimulatedRateLimit } from './simulated-rate-limit.js';
import { SyntheticSeries } from './synthetic-series.js';

/** What a synthetic provider can be given besides its config, mostly so tests control time. */
export interface SyntheticProviderOptions {
  /**
   * Epoch-ms clock. When given, it drives both the "has this bar closed" cutoff and the simulated
   * server limit. By default the cutoff reads Date.now and the limit a monotonic performance.now.
   */
  readonly clock?: () => number;
  /** How simulated latency waits; must reject with the signal's reason when it is aborted. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Counters since the provider was created. */
export interface SyntheticProviderStats {
  /** Calls to fetchBars that were sent (not aborted before they started). */
  readonly requests: number;
  /** Requests answered with a simulated 429. */
  readonly rateLimited: number;
  /** Requests that failed by the simulated `failure_rate`. */
  readonly failures: number;
}

/** The symbols a real exchange-style API would accept; anything else is an unknown symbol. */
const SYMBOL = /^[A-Z0-9.\-_]{1,20}$/i;
const GOLDEN = 0x9e3779b1 | 0;

/**
 * Deterministic bars computed on demand (see SyntheticSeries), with optional simulated latency,
 * transient failures, a server-side rate limit, hanging requests, short or empty pages and bad
 * bars (see SimulatedFaults), for tests and demos.
 */
export class SyntheticProvider implements Provider {
  readonly maxBarsPerRequest: number;
  /** A synthetic series has a bar for every interval, around the clock. */
  readonly gapless = true;
  private readonly seed: number;
  private readonly latencyMs: number;
  private readonly failureRate: number;
  private readonly failureKey: number;
  private readonly serverLimit: SimulatedRateLimit | undefined;
  private readonly faults: SimulatedFaults;
  private readonly now: () => number;
  private readonly monotonicNow: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private requests = 0;
  private rateLimited = 0;
  private failures = 0;

  constructor(
    readonly name: string,
    config: SyntheticProviderConfig,
    options: SyntheticProviderOptions = {},
  ) {
    this.maxBarsPerRequest = config.max_bars_per_request;
    this.seed = config.seed;
    this.latencyMs = config.simulate?.latency_ms ?? 0;
    this.failureRate = config.simulate?.failure_rate ?? 0;
    this.failureKey = mix32(seedKey(config.seed) ^ 0x3c6ef372);
    const limit = config.simulate?.server_limit;
    this.serverLimit =
      limit &&
      new SimulatedRateLimit(
        limit.requests_per_minute,
        limit.burst,
        limit.retry_after_seconds === undefined ? undefined : limit.retry_after_seconds * 1000,
      );
    this.faults = new SimulatedFaults(config.seed, {
      hangRate: config.simulate?.hang_rate ?? 0,
      emptyPages: config.simulate?.empty_pages ?? 0,
      shortPages: config.simulate?.short_pages ?? 0,
      badBars: config.simulate?.bad_bars,
    });
    this.now = options.clock ?? Date.now;
    this.monotonicNow = options.clock ?? (() => performance.now());
    this.sleep = options.sleep ?? abortableSleep;
  }

  /** Counters for tests and metrics. */
  get stats(): SyntheticProviderStats {
    return { requests: this.requests, rateLimited: this.rateLimited, failures: this.failures };
  }

  /**
   * The closed bars with `start <= ts < end`, ascending, from the first aligned ts at or after
   * `start`. At most maxBarsPerRequest of them: when the window holds more, this returns the first
   * maxBarsPerRequest and the caller asks again from after the last one. A bar is closed when
   * `ts + interval <= now`, so the result may stop short of `end` (or be empty) for recent windows.
   */
  async fetchBars(request: FetchRequest, signal: AbortSignal): Promise<Bar[]> {
    signal.throwIfAborted();
    const ordinal = this.requests++;
    // The server decides on arrival; any answer, 429 included, reaches us after the latency.
    const decision = this.serverLimit?.take(this.monotonicNow());
    if (this.latencyMs > 0) await this.sleep(this.latencyMs, signal);
    signal.throwIfAborted();
    if (decision !== undefined && !decision.admitted) {
      this.rateLimited++;
      const limit = this.serverLimit as SimulatedRateLimit;
      throw new TransientProviderError(
        this.name,
        `429 Too Many Requests: simulated server limit of ${limit.requestsPerMinute} requests/minute ` +
          `(burst ${limit.burst}); retry after ${decision.retryAfterMs} ms`,
        { rateLimited: true, retryAfterMs: decision.retryAfterMs },
      );
    }
    this.validate(request);
    if (
      this.failureRate > 0 &&
      toUnit(mix32(Math.imul(ordinal, GOLDEN) ^ this.failureKey)) < this.failureRate
    ) {
      this.failures++;
      throw new TransientProviderError(
        this.name,
        `simulated server error on request ${ordinal + 1} (simulate.failure_rate ${this.failureRate})`,
      );
    }
    const fault = this.faults.pageFault(request);
    if (fault === 'hang') await hang(signal);
    const bars = fault === 'empty' ? [] : this.closedBars(request);
    return this.faults.spoil(fault === 'short' ? bars.slice(0, bars.length >> 1) : bars);
  }

  private validate({ symbol, interval, start, end }: FetchRequest): void {
    if (typeof symbol !== 'string' || !SYMBOL.test(symbol)) {
      throw new PermanentProviderError(
        this.name,
        `unknown symbol ${JSON.stringify(symbol)}: synthetic symbols are 1 to 20 letters, digits, '.', '-' or '_'`,
      );
    }
    if (!isInterval(interval)) {
      throw new PermanentProviderError(
        this.name,
        `unsupported interval ${JSON.stringify(interval)}: use 1m, 5m, 15m, 30m, 1h, 4h or 1d`,
      );
    }
    if (!Number.isFinite(start) || !Number.isFinite(end)) {
      throw new PermanentProviderError(
        this.name,
        `window [${start}, ${end}) is not two finite epoch-millisecond times`,
      );
    }
  }

  private closedBars({ symbol, interval, start, end }: FetchRequest): Bar[] {
    if (end <= start) return [];
    const step = intervalMs(interval);
    const first = alignUp(start, interval);
    const inWindow = Math.ceil((end - first) / step);
    const closed = Math.floor((this.now() - step - first) / step) + 1;
    const count = Math.min(inWindow, closed, this.maxBarsPerRequest);
    if (count <= 0) return [];
    return new SyntheticSeries(this.seed, symbol, interval).bars(this.name, first, count);
  }
}

/** Never settles on its own, like a server that accepted the request and went silent. */
function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

/** Builds a synthetic provider from its config entry, for the provider registry. */
export function createSyntheticProvider(
  name: string,
  config: SyntheticProviderConfig,
  options?: SyntheticProviderOptions,
): SyntheticProvider {
  return new SyntheticProvider(name, config, options);
}
