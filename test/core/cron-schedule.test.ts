import { describe, expect, it } from 'vitest';
import { CronSchedule, cronProblem } from '../../src/core/cron-schedule.js';

const at = (iso: string): number => Date.parse(iso);
const isos = (ticks: readonly number[]): string[] => ticks.map((t) => new Date(t).toISOString());

describe('CronSchedule', () => {
  it('reads weekday evenings in New York time, through both daylight saving changes', () => {
    const schedule = new CronSchedule('30 18 * * 1-5', 'America/New_York');
    // Friday 8 March 2024 (EST), then Monday 11 March (EDT since Sunday).
    expect(isos(schedule.nextTicks(2, at('2024-03-08T12:00:00Z')))).toEqual([
      '2024-03-08T23:30:00.000Z',
      '2024-03-11T22:30:00.000Z',
    ]);
    // Friday 1 November 2024 (EDT), then Monday 4 November (EST since Sunday).
    expect(isos(schedule.nextTicks(2, at('2024-11-01T12:00:00Z')))).toEqual([
      '2024-11-01T22:30:00.000Z',
      '2024-11-04T23:30:00.000Z',
    ]);
  });

  it('fires a time of day the spring-forward gap skips once, right after the gap', () => {
    const schedule = new CronSchedule('30 2 * * *', 'America/New_York');
    expect(isos(schedule.nextTicks(3, at('2024-03-09T00:00:00Z')))).toEqual([
      '2024-03-09T07:30:00.000Z',
      '2024-03-10T07:00:00.000Z',
      '2024-03-11T06:30:00.000Z',
    ]);
  });

  it('takes a leading seconds field', () => {
    const schedule = new CronSchedule('*/5 * * * * *', 'UTC');
    expect(schedule.nextTick(at('2024-01-01T00:00:00Z'))).toBe(at('2024-01-01T00:00:05Z'));
    expect(schedule.nextTick(at('2024-01-01T00:00:04.999Z'))).toBe(at('2024-01-01T00:00:05Z'));
  });

  describe('missedTicks', () => {
    const schedule = new CronSchedule('0 * * * *', 'UTC');

    it('gives the newest `limit` ticks in (after, until], oldest first, and counts them all', () => {
      const missed = schedule.missedTicks(
        at('2024-01-01T00:00:00Z'),
        at('2024-01-01T05:00:00Z'),
        2,
      );
      expect(isos(missed.newest)).toEqual(['2024-01-01T04:00:00.000Z', '2024-01-01T05:00:00.000Z']);
      expect(missed.count).toBe(5);
      expect(missed.countCapped).toBe(false);
    });

    it('gives every tick when fewer than the limit were missed', () => {
      const missed = schedule.missedTicks(
        at('2024-01-01T00:30:00Z'),
        at('2024-01-01T02:59:00Z'),
        10,
      );
      expect(isos(missed.newest)).toEqual(['2024-01-01T01:00:00.000Z', '2024-01-01T02:00:00.000Z']);
      expect(missed.count).toBe(2);
    });

    it('stops counting at countLimit', () => {
      const missed = schedule.missedTicks(
        at('2024-01-01T00:00:00Z'),
        at('2024-02-01T00:00:00Z'),
        1,
        50,
      );
      expect(missed.count).toBe(50);
      expect(missed.countCapped).toBe(true);
      expect(isos(missed.newest)).toEqual(['2024-02-01T00:00:00.000Z']);
    });

    it('misses nothing without a last tick', () => {
      expect(schedule.missedTicks(undefined, at('2024-01-01T05:00:00Z'), 5).count).toBe(0);
    });
  });
});

describe('cronProblem', () => {
  it('is undefined for five and six fields, and croner nicknames', () => {
    expect(cronProblem('30 18 * * 1-5')).toBeUndefined();
    expect(cronProblem('*/10 * * * * *')).toBeUndefined();
    expect(cronProblem('@daily')).toBeUndefined();
  });

  it('refuses seven fields: a year field is not taken', () => {
    expect(cronProblem('0 0 0 1 1 * 2030')).toContain('requires exactly 5 or 6 parts');
  });
});
