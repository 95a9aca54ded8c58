/**
 * Alpaca often answers 429 without Retry-After and with X-RateLimit-Reset (an epoch second, read
 * against the answer's Date). A reset 20 minutes away fails the run with MDP_PROVIDER_RATE_LIMITED,
 * and the message names the header that was read: an operator told "(Retry-After)" would look for
 * a header that was never sent.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';
import { useFixtureServer } from '../../helpers/fixture-server.js';
import { writeProviderTestConfig } from '../../helpers/provider-test-config.js';
import { useTempDir } from '../../helpers/temp-dir.js';
import { useTestStorage } from '../../helpers/test-storage.js';

const tempDir = useTempDir();

describe('mdp backfill against an alpaca 429 whose X-RateLimit-Reset is past max_retry_after', () => {
  useTestStorage('sqlite');
  const serve = useFixtureServer();

  it('fails naming X-RateLimit-Reset, not a Retry-After the server never sent', async () => {
    const server = await serve(() => {
      const now = Math.floor(Date.now() / 1000);
      return {
        status: 429,
        headers: {
          Date: new Date(now * 1000).toUTCString(),
          'X-RateLimit-Reset': String(now + 20 * 60),
        },
        json: { code: 42910000, message: 'too many requests.' },
      };
    });
    const dir = tempDir();
    const config = writeProviderTestConfig(
      dir,
      'sqlite',
      {
        type: 'alpaca',
        key_id: '${ALPACA_KEY_ID}',
        secret_key: '${ALPACA_SECRET_KEY}',
        base_url: server.url,
      },
      { daily: { symbols: ['SPY'], interval: '1d', start: '2023-01-01', end: '2023-02-01' } },
    );
    const result = await runCli(['backfill', '--config', config, '--job', 'daily'], {
      env: { ALPACA_KEY_ID: 'PKREVIEW12345', ALPACA_SECRET_KEY: 'sk_review_67890' },
      timeoutMs: 20_000,
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('MDP_PROVIDER_RATE_LIMITED');
    expect(server.requests[0]?.headers['retry-after']).toBeUndefined();
    expect(result.stderr).not.toContain('(Retry-After)');
    expect(result.stderr).toContain(
      'provider source asked to wait 20m before the next request (X-RateLimit-Reset)',
    );
    expect(server.requests).toHaveLength(1);
  });
});
