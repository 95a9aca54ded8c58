import { describe, expect, it } from 'vitest';
import { VALID_CONFIG, edit, onlyIssue, parse, positionOf } from './config-fixture.js';

const BACKFILL_MODE = 'mode: backfill\n';
const LIVE_MODE = 'mode: live\n';

/** The fixture with `lines` (YAML at job level) added to the backfill job. */
function onBackfill(lines: string): string {
  return edit(VALID_CONFIG, BACKFILL_MODE, `${BACKFILL_MODE}    ${lines}\n`);
}

/** The fixture with `lines` (YAML at job level) added to the live job. */
function onLive(lines: string): string {
  return edit(VALID_CONFIG, LIVE_MODE, `${LIVE_MODE}    ${lines}\n`);
}

describe('job schedules', () => {
  it('a job without schedule or follow has neither, and the schedule defaults', () => {
    const job = parse(VALID_CONFIG).jobs.synthetic_backfill;
    expect(job?.schedule).toBeUndefined();
    expect(job?.follow).toBe(false);
    expect(job?.timezone).toBe('UTC');
    expect(job?.catchup).toBe('latest');
    expect(job?.catchup_limit).toBe(10);
    expect(job?.overlap).toBe('skip');
  });

  it('takes a five-field expression with a time zone and the catch-up and overlap policies', () => {
    const config = parse(
      onBackfill(
        'schedule: "30 18 * * 1-5"\n    timezone: America/New_York\n    catchup: all\n    catchup_limit: 3\n    overlap: wait',
      ),
    );
    const job = config.jobs.synthetic_backfill;
    expect(job).toMatchObject({
      schedule: '30 18 * * 1-5',
      timezone: 'America/New_York',
      catchup: 'all',
      catchup_limit: 3,
      overlap: 'wait',
    });
  });

  it('takes six fields, the first being seconds', () => {
    expect(parse(onLive('schedule: "*/5 * * * * *"')).jobs.synthetic_live?.schedule).toBe(
      '*/5 * * * * *',
    );
  });

  it.each([
    ['61 * * * *', 'Invalid value for minute: 61'],
    ['every day', 'exactly five, six, or seven space separated parts are required'],
    ['0 0 0 1 1 * 2030', 'requires exactly 5 or 6 parts'],
  ])('"%s" is refused where it is written, with croner\'s reason', (expression, reason) => {
    const text = onBackfill(`schedule: "${expression}"`);
    const issue = onlyIssue(text);
    expect(issue).toMatchObject({
      path: 'jobs.synthetic_backfill.schedule',
      ...positionOf(text, `schedule: "${expression}"`, 'schedule: '.length),
    });
    expect(issue.message).toContain(reason);
    expect(issue.message).toContain(`"${expression}" is not a cron expression`);
    expect(issue.message).toContain('e.g. "30 18 * * 1-5"');
  });

  it('an expression no date matches is refused: the job would never run', () => {
    const issue = onlyIssue(onBackfill('schedule: "0 0 30 2 *"'));
    expect(issue.path).toBe('jobs.synthetic_backfill.schedule');
    expect(issue.message).toBe(
      '"0 0 30 2 *" never fires (no date matches it, e.g. 30 February): fix the day-of-month or month field',
    );
  });

  it('a time zone that does not exist is refused', () => {
    const issue = onlyIssue(onBackfill('schedule: "0 18 * * *"\n    timezone: America/Gotham'));
    expect(issue.path).toBe('jobs.synthetic_backfill.timezone');
    expect(issue.message).toContain('is not a time zone this Node.js knows');
  });

  it.each([
    ['catchup: sometimes', 'jobs.synthetic_backfill.catchup'],
    ['catchup_limit: 0', 'jobs.synthetic_backfill.catchup_limit'],
    ['catchup_limit: 1001', 'jobs.synthetic_backfill.catchup_limit'],
    ['overlap: queue', 'jobs.synthetic_backfill.overlap'],
  ])('%s is refused', (line, path) => {
    expect(onlyIssue(onBackfill(`schedule: "0 18 * * *"\n    ${line}`)).path).toBe(path);
  });

  it('follow: true on a live job is taken', () => {
    expect(parse(onLive('follow: true')).jobs.synthetic_live?.follow).toBe(true);
  });

  it('a job with both schedule and follow is refused, naming both', () => {
    const text = onLive('schedule: "* * * * *"\n    follow: true');
    expect(onlyIssue(text)).toEqual({
      path: 'jobs.synthetic_live.follow',
      ...positionOf(text, 'follow: true', 'follow: '.length),
      message:
        'a followed job runs all the time, so a schedule: would never find it idle; keep one of follow: true and schedule:',
    });
  });

  it('a backfill job cannot be followed', () => {
    const issue = onlyIssue(onBackfill('follow: true'));
    expect(issue.path).toBe('jobs.synthetic_backfill.follow');
    expect(issue.message).toContain('only a live job can be followed');
  });

  it.each(['timezone: America/New_York', 'catchup: all', 'catchup_limit: 5', 'overlap: wait'])(
    '%s without a schedule is refused, saying what to add',
    (line) => {
      const key = line.split(':')[0] as string;
      expect(onlyIssue(onLive(line))).toMatchObject({
        path: `jobs.synthetic_live.${key}`,
        message: `${key} applies to a job's schedule:, and this job has none; add schedule: (a cron expression such as "30 18 * * 1-5") or remove ${key}`,
      });
    },
  );

  it('a schedule may come from a profile', () => {
    const text = VALID_CONFIG.replace(
      'profiles:\n',
      'profiles:\n  nightly:\n    jobs: { synthetic_backfill: { schedule: "0 2 * * *" } }\n',
    );
    expect(parse(text, { profile: 'nightly' }).jobs.synthetic_backfill?.schedule).toBe('0 2 * * *');
    expect(parse(text).jobs.synthetic_backfill?.schedule).toBeUndefined();
  });
});
