import { describe, expect, it } from 'vitest';
import { nextQuotaReset, quotaDay } from '../../../../functions/contract/quota-day.js';

describe('the daily quota resets at 00:00 America/Chicago', () => {
  it('resets at 06:00 UTC in winter (CST, UTC-6)', () => {
    expect(new Date(nextQuotaReset(Date.UTC(2026, 11, 1, 20, 0))).toISOString()).toBe(
      '2026-12-02T06:00:00.000Z',
    );
  });

  it('resets at 05:00 UTC in summer (CDT, UTC-5)', () => {
    expect(new Date(nextQuotaReset(Date.UTC(2026, 6, 4, 12, 0))).toISOString()).toBe(
      '2026-07-05T05:00:00.000Z',
    );
  });

  it('counts 03:00 UTC as the previous Chicago day', () => {
    expect(quotaDay(Date.UTC(2026, 11, 2, 3, 0))).toBe('2026-12-01');
    expect(new Date(nextQuotaReset(Date.UTC(2026, 11, 2, 3, 0))).toISOString()).toBe(
      '2026-12-02T06:00:00.000Z',
    );
  });

  it('starts a new day exactly at the reset instant', () => {
    const reset = Date.UTC(2026, 11, 2, 6, 0);
    expect(quotaDay(reset - 1)).toBe('2026-12-01');
    expect(quotaDay(reset)).toBe('2026-12-02');
    expect(new Date(nextQuotaReset(reset)).toISOString()).toBe('2026-12-03T06:00:00.000Z');
  });

  it('resets at the CDT midnight on the day daylight saving time starts (2026-03-08, 23 h day)', () => {
    expect(new Date(nextQuotaReset(Date.UTC(2026, 2, 8, 12, 0))).toISOString()).toBe(
      '2026-03-09T05:00:00.000Z',
    );
  });

  it('resets at the CST midnight on the day daylight saving time ends (2026-11-01, 25 h day)', () => {
    expect(new Date(nextQuotaReset(Date.UTC(2026, 10, 1, 12, 0))).toISOString()).toBe(
      '2026-11-02T06:00:00.000Z',
    );
  });

  it.for([
    { day: '2027-03-14', hours: 23, at: Date.UTC(2027, 2, 14, 6, 30), reset: '2027-03-15T05:00:00.000Z' },
    { day: '2027-11-07', hours: 25, at: Date.UTC(2027, 10, 7, 5, 30), reset: '2027-11-08T06:00:00.000Z' },
  ])('counts 00:30 on $day (a $hours h day) to that day and resets at its end', ({ day, at, reset }) => {
    expect(quotaDay(at)).toBe(day);
    expect(new Date(nextQuotaReset(at)).toISOString()).toBe(reset);
  });
});
