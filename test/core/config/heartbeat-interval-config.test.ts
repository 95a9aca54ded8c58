import { describe, expect, it } from 'vitest';
import { VALID_CONFIG, edit, onlyIssue, parse, positionOf } from './config-fixture.js';

/** The fixture with `execution.heartbeat_interval: value` on its backfill job. */
function withHeartbeatInterval(value: string): string {
  return edit(
    VALID_CONFIG,
    'execution: { concurrency: 4,',
    `execution: { heartbeat_interval: ${value}, concurrency: 4,`,
  );
}

describe('execution.heartbeat_interval', () => {
  it('defaults to 5s and takes any interval from 1s to 10m', () => {
    expect(parse(VALID_CONFIG).jobs.synthetic_backfill?.execution.heartbeat_interval).toBe(5_000);
    for (const [text, ms] of [
      ['1s', 1_000],
      ['30s', 30_000],
      ['10m', 600_000],
    ] as const) {
      const config = parse(withHeartbeatInterval(text));
      expect(config.jobs.synthetic_backfill?.execution.heartbeat_interval).toBe(ms);
    }
  });

  it.each(['30d', '11m', '500ms'])(
    '%s is refused where it is written, naming the range',
    (value) => {
      const text = withHeartbeatInterval(value);
      expect(onlyIssue(text)).toEqual({
        path: 'jobs.synthetic_backfill.execution.heartbeat_interval',
        ...positionOf(text, `heartbeat_interval: ${value}`, 'heartbeat_interval: '.length),
        message:
          `${value} is out of range: a heartbeat interval is between 1s and 10m ` +
          '(a run counts as abandoned after three missed heartbeats), e.g. 5s',
      });
    },
  );
});
