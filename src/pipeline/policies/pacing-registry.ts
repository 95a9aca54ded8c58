import type { PacingConfig } from '../../core/config/config-schema.js';
import type { Timing } from '../timing.js';
import { TokenBucket } from './token-bucket.js';

/** One token bucket per provider, shared by every job and chunk of the process. */
export class PacingRegistry {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly timing: Timing) {}

  /** The provider's bucket, or undefined when it has no `pacing:` (unpaced). */
  bucketFor(provider: string, pacing: PacingConfig | undefined): TokenBucket | undefined {
    if (!pacing) return undefined;
    let bucket = this.buckets.get(provider);
    if (!bucket) {
      bucket = new TokenBucket(
        { burst: pacing.burst, requestsPerMinute: pacing.requests_per_minute },
        this.timing,
      );
      this.buckets.set(provider, bucket);
    }
    return bucket;
  }
}
