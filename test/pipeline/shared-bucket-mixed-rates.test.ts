/**
 * What README ("How mdp paces them", and Failure modes: one provider configured differently
 * across processes) says of processes that configure one provider name with different rates on
 * one store: the `provider_budgets` row keeps the bucket's level, not its rate, and each take
 * refills it at the taker's own rate (the row is taken through these functions on both stores).
 * So together they are held to the most generous setting, not the strictest.
 */
import { describe, expect, it } from 'vitest';
import { fullBucket, takeToken, type BucketRate } from '../../src/core/bucket-level.js';
import { sharedBucketRate } from '../../src/pipeline/policies/store-token-bucket.js';

/** Two processes asking for tokens whenever they may, for `ms`: the grants of each. */
function shareOneRow(rates: readonly BucketRate[], ms: number): number[] {
  let level = fullBucket(rates[0] as BucketRate, 0);
  const askAt = rates.map(() => 0);
  const grants = rates.map(() => 0);
  for (;;) {
    const now = Math.min(...askAt);
    if (now > ms) return grants;
    const who = askAt.indexOf(now);
    const taken = takeToken(level, rates[who] as BucketRate, now);
    level = taken.level;
    if (taken.waitMs === 0) {
      grants[who] = (grants[who] ?? 0) + 1;
      askAt[who] = now + 1;
    } else {
      askAt[who] = now + taken.waitMs;
    }
  }
}

describe('one shared budget row, two configured rates', () => {
  it('is held to the most generous rate, not the strictest', () => {
    const strict = sharedBucketRate(1, 60);
    const generous = sharedBucketRate(1, 600);
    const minute = 60_000;
    const [byStrict = 0, byGenerous = 0] = shareOneRow([strict, generous], minute);
    const total = byStrict + byGenerous;
    console.log(
      `60/min and 600/min on one row: ${byStrict} + ${byGenerous} = ${total} in a minute`,
    );
    // The strict config alone allows burst + 60 a minute; together they take several times that.
    expect(total).toBeGreaterThan(5 * (1 + 60));
    // Never more than the generous one's own bound.
    expect(total).toBeLessThanOrEqual(1 + 600);
    // Both processes on the generous rate: the same bound.
    const [a = 0, b = 0] = shareOneRow([generous, generous], minute);
    expect(a + b).toBeLessThanOrEqual(1 + 600);
  });
});
