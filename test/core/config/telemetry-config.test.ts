import { describe, expect, it } from 'vitest';
import { VALID_CONFIG, edit, onlyIssue, parse, positionOf } from './config-fixture.js';

const METRICS = 'metrics: { enabled: true, host: 127.0.0.1, port: 9090 }';

function withPushgateway(value: string): string {
  return edit(
    VALID_CONFIG,
    METRICS,
    `metrics: { enabled: true, host: 127.0.0.1, port: 9090, pushgateway_url: ${value} }`,
  );
}

describe('telemetry.metrics.pushgateway_url', () => {
  it('is optional', () => {
    expect(parse(VALID_CONFIG).telemetry.metrics.pushgateway_url).toBeUndefined();
  });

  it('takes an http or https URL, from the environment too', () => {
    expect(
      parse(withPushgateway('"http://127.0.0.1:9091"')).telemetry.metrics.pushgateway_url,
    ).toBe('http://127.0.0.1:9091');
    const fromEnv = parse(withPushgateway('"${PUSHGATEWAY_URL}"'), {
      env: { PUSHGATEWAY_URL: 'https://user:secret-pw@push.example.com/prefix' },
    });
    expect(fromEnv.telemetry.metrics.pushgateway_url).toBe(
      'https://user:secret-pw@push.example.com/prefix',
    );
    // Its password is a secret like any URI's.
    expect(
      fromEnv.redactor.redact('pushing to https://user:secret-pw@push.example.com'),
    ).not.toContain('secret-pw');
  });

  it('empty means unset, so ${VAR:-} can leave it out', () => {
    expect(
      parse(withPushgateway('"${PUSHGATEWAY_URL:-}"')).telemetry.metrics.pushgateway_url,
    ).toBeUndefined();
  });

  it('anything else is an error at its line, without echoing the value', () => {
    for (const value of ['"127.0.0.1:9091"', '"ftp://host/x"', '"not a url"']) {
      const text = withPushgateway(value);
      expect(onlyIssue(text)).toEqual({
        path: 'telemetry.metrics.pushgateway_url',
        ...positionOf(text, value),
        message: 'must be an http:// or https:// URL, e.g. http://127.0.0.1:9091',
      });
    }
  });
});
