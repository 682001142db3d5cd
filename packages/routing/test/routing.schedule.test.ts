import { describe, expect, test } from '@jest/globals';
import { resolveDestination, type ResolvedDestination } from '@leadrouter/config';
import { capPeriods, localTime, scheduleOpen } from '../src/index.js';

type Schedule = NonNullable<ResolvedDestination['schedule']>;
const NY = 'America/New_York';
const at = (iso: string): Date => new Date(iso);
const WEEKDAYS: Schedule['days'] = ['mon', 'tue', 'wed', 'thu', 'fri'];

describe('localTime', () => {
  test('wall clock, weekday and period keys in the timezone', () => {
    // 2026-11-25 is a Wednesday; New York is on EST (UTC-5).
    expect(localTime(at('2026-11-25T14:05:00Z'), NY)).toEqual({ day: 'wed', minutes: 9 * 60 + 5, date: '2026-11-25', hour: '2026-11-25T09' });
    expect(localTime(at('2026-11-25T03:30:00Z'), NY)).toEqual({ day: 'tue', minutes: 22 * 60 + 30, date: '2026-11-24', hour: '2026-11-24T22' });
    expect(localTime(at('2026-11-25T03:30:00Z'), 'UTC')).toEqual({ day: 'wed', minutes: 3 * 60 + 30, date: '2026-11-25', hour: '2026-11-25T03' });
  });

  test('asked again within a second, and a second later across midnight: each answer is the clock of its own instant', () => {
    expect(localTime(at('2026-11-25T04:59:59.100Z'), NY)).toEqual({ day: 'tue', minutes: 23 * 60 + 59, date: '2026-11-24', hour: '2026-11-24T23' });
    expect(localTime(at('2026-11-25T04:59:59.900Z'), NY)).toEqual({ day: 'tue', minutes: 23 * 60 + 59, date: '2026-11-24', hour: '2026-11-24T23' });
    expect(localTime(at('2026-11-25T05:00:00.000Z'), NY)).toEqual({ day: 'wed', minutes: 0, date: '2026-11-25', hour: '2026-11-25T00' });
    // Another zone at the same instant has its own clock; and an earlier instant asked afterwards its own.
    expect(localTime(at('2026-11-25T05:00:00.000Z'), 'UTC')).toEqual({ day: 'wed', minutes: 5 * 60, date: '2026-11-25', hour: '2026-11-25T05' });
    expect(localTime(at('2026-11-25T04:59:59.500Z'), NY)).toEqual({ day: 'tue', minutes: 23 * 60 + 59, date: '2026-11-24', hour: '2026-11-24T23' });
  });

  test('midnight is hour 00, not 24', () => {
    expect(localTime(at('2026-11-25T05:15:00Z'), NY)).toEqual({ day: 'wed', minutes: 15, date: '2026-11-25', hour: '2026-11-25T00' });
    expect(localTime(at('2026-11-25T00:00:00Z'), 'UTC')).toEqual({ day: 'wed', minutes: 0, date: '2026-11-25', hour: '2026-11-25T00' });
  });

  test('half-hour offsets (Asia/Kolkata, UTC+5:30)', () => {
    expect(localTime(at('2026-11-25T20:00:00Z'), 'Asia/Kolkata')).toEqual({ day: 'thu', minutes: 90, date: '2026-11-26', hour: '2026-11-26T01' });
  });

  test('follows the DST changes in New York', () => {
    // Spring forward 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z).
    expect(localTime(at('2026-03-08T06:59:00Z'), NY).minutes).toBe(1 * 60 + 59);
    expect(localTime(at('2026-03-08T07:00:00Z'), NY).minutes).toBe(3 * 60);
    // Fall back 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00Z).
    expect(localTime(at('2026-11-01T05:59:00Z'), NY).minutes).toBe(1 * 60 + 59);
    expect(localTime(at('2026-11-01T06:00:00Z'), NY).minutes).toBe(1 * 60);
  });
});

describe('scheduleOpen', () => {
  const business: Schedule = { timezone: NY, days: WEEKDAYS, from: '09:00', to: '18:00' };

  test('no schedule is always open', () => {
    expect(scheduleOpen(undefined, at('2026-11-28T03:00:00Z'))).toBe(true);
  });

  test('weekday 09:00-18:00 in New York (winter, EST = UTC-5)', () => {
    // Wednesday 2026-11-25
    expect(scheduleOpen(business, at('2026-11-25T13:59:00Z'))).toBe(false); // 08:59
    expect(scheduleOpen(business, at('2026-11-25T14:00:00Z'))).toBe(true); // 09:00, from is inclusive
    expect(scheduleOpen(business, at('2026-11-25T18:00:00Z'))).toBe(true); // 13:00
    expect(scheduleOpen(business, at('2026-11-25T22:59:00Z'))).toBe(true); // 17:59
    expect(scheduleOpen(business, at('2026-11-25T23:00:00Z'))).toBe(false); // 18:00, to is exclusive
    // 2026-11-26T02:00Z is 21:00 Wednesday in New York though Thursday in UTC.
    expect(scheduleOpen(business, at('2026-11-26T02:00:00Z'))).toBe(false);
  });

  test('weekday 09:00-18:00 in New York (summer, EDT = UTC-4)', () => {
    // Wednesday 2026-07-15
    expect(scheduleOpen(business, at('2026-07-15T12:59:00Z'))).toBe(false); // 08:59
    expect(scheduleOpen(business, at('2026-07-15T13:00:00Z'))).toBe(true); // 09:00
    expect(scheduleOpen(business, at('2026-07-15T21:59:00Z'))).toBe(true); // 17:59
    expect(scheduleOpen(business, at('2026-07-15T22:00:00Z'))).toBe(false); // 18:00
  });

  test('days filter: closed at the weekend, judged by the local day', () => {
    // Saturday 2026-11-28 10:00 local
    expect(scheduleOpen(business, at('2026-11-28T15:00:00Z'))).toBe(false);
    // Friday 2026-11-27 17:00 local is 22:00Z; Friday 2026-11-27 23:30 local is Saturday 04:30Z
    expect(scheduleOpen(business, at('2026-11-27T22:00:00Z'))).toBe(true);
    // Monday 2026-11-30 09:00 local = 14:00Z, but Sunday 2026-11-29 21:00 local = Monday 02:00Z
    expect(scheduleOpen({ timezone: NY, days: ['mon'] }, at('2026-11-30T02:00:00Z'))).toBe(false);
    expect(scheduleOpen({ timezone: NY, days: ['mon'] }, at('2026-11-30T14:00:00Z'))).toBe(true);
    expect(scheduleOpen({ timezone: NY, days: ['sun'] }, at('2026-11-30T02:00:00Z'))).toBe(true);
  });

  test('an empty or missing days list means every day', () => {
    expect(scheduleOpen({ timezone: NY, from: '09:00', to: '18:00' }, at('2026-11-28T15:00:00Z'))).toBe(true);
    expect(scheduleOpen({ timezone: NY, days: [], from: '09:00', to: '18:00' }, at('2026-11-29T15:00:00Z'))).toBe(true);
  });

  test('missing from/to: the window runs from midnight / to midnight', () => {
    const fromOnly: Schedule = { timezone: 'UTC', from: '09:00' };
    expect(scheduleOpen(fromOnly, at('2026-11-25T08:59:00Z'))).toBe(false);
    expect(scheduleOpen(fromOnly, at('2026-11-25T09:00:00Z'))).toBe(true);
    expect(scheduleOpen(fromOnly, at('2026-11-25T23:59:00Z'))).toBe(true);
    const toOnly: Schedule = { timezone: 'UTC', to: '18:00' };
    expect(scheduleOpen(toOnly, at('2026-11-25T00:00:00Z'))).toBe(true);
    expect(scheduleOpen(toOnly, at('2026-11-25T17:59:00Z'))).toBe(true);
    expect(scheduleOpen(toOnly, at('2026-11-25T18:00:00Z'))).toBe(false);
    const daysOnly: Schedule = { timezone: 'UTC', days: ['wed'] };
    expect(scheduleOpen(daysOnly, at('2026-11-25T00:00:00Z'))).toBe(true);
    expect(scheduleOpen(daysOnly, at('2026-11-25T23:59:00Z'))).toBe(true);
    expect(scheduleOpen(daysOnly, at('2026-11-26T00:00:00Z'))).toBe(false);
    const untilMidnight: Schedule = { timezone: 'UTC', from: '20:00', to: '24:00' };
    expect(scheduleOpen(untilMidnight, at('2026-11-25T23:59:00Z'))).toBe(true);
    expect(scheduleOpen(untilMidnight, at('2026-11-26T00:00:00Z'))).toBe(false);
    expect(scheduleOpen(untilMidnight, at('2026-11-25T19:59:00Z'))).toBe(false);
  });

  test('overnight window: the part after midnight belongs to the day it started', () => {
    // fri 22:00-02:00 in New York (EST): Friday 2026-11-27
    const fridayNight: Schedule = { timezone: NY, days: ['fri'], from: '22:00', to: '02:00' };
    expect(scheduleOpen(fridayNight, at('2026-11-28T02:59:00Z'))).toBe(false); // Fri 21:59
    expect(scheduleOpen(fridayNight, at('2026-11-28T03:00:00Z'))).toBe(true); // Fri 22:00
    expect(scheduleOpen(fridayNight, at('2026-11-28T04:59:00Z'))).toBe(true); // Fri 23:59
    expect(scheduleOpen(fridayNight, at('2026-11-28T05:00:00Z'))).toBe(true); // Sat 00:00
    expect(scheduleOpen(fridayNight, at('2026-11-28T06:59:00Z'))).toBe(true); // Sat 01:59
    expect(scheduleOpen(fridayNight, at('2026-11-28T07:00:00Z'))).toBe(false); // Sat 02:00, to exclusive
    expect(scheduleOpen(fridayNight, at('2026-11-27T06:00:00Z'))).toBe(false); // Fri 01:00 belongs to Thursday
    expect(scheduleOpen(fridayNight, at('2026-11-29T04:00:00Z'))).toBe(false); // Sat 23:00
    expect(scheduleOpen(fridayNight, at('2026-11-27T17:00:00Z'))).toBe(false); // Fri 12:00
  });

  test('overnight window without a days filter', () => {
    const nightly: Schedule = { timezone: 'UTC', from: '22:00', to: '06:00' };
    expect(scheduleOpen(nightly, at('2026-11-25T21:59:00Z'))).toBe(false);
    expect(scheduleOpen(nightly, at('2026-11-25T22:00:00Z'))).toBe(true);
    expect(scheduleOpen(nightly, at('2026-11-26T03:00:00Z'))).toBe(true);
    expect(scheduleOpen(nightly, at('2026-11-26T05:59:00Z'))).toBe(true);
    expect(scheduleOpen(nightly, at('2026-11-26T06:00:00Z'))).toBe(false);
    expect(scheduleOpen(nightly, at('2026-11-26T12:00:00Z'))).toBe(false);
  });

  test('spring forward (2026-03-08): the day after is on EDT', () => {
    // Monday 2026-03-09, EDT = UTC-4
    expect(scheduleOpen(business, at('2026-03-09T13:30:00Z'))).toBe(true); // 09:30 EDT (08:30 if still EST)
    expect(scheduleOpen(business, at('2026-03-09T12:30:00Z'))).toBe(false); // 08:30 EDT
    expect(scheduleOpen(business, at('2026-03-09T21:30:00Z'))).toBe(true); // 17:30 EDT
    expect(scheduleOpen(business, at('2026-03-09T22:30:00Z'))).toBe(false); // 18:30 EDT (17:30 if still EST)
    // The Friday before is still EST = UTC-5
    expect(scheduleOpen(business, at('2026-03-06T14:30:00Z'))).toBe(true); // 09:30 EST
    expect(scheduleOpen(business, at('2026-03-06T13:30:00Z'))).toBe(false); // 08:30 EST (09:30 if EDT)
  });

  test('fall back (2026-11-01): the day after is on EST', () => {
    // Monday 2026-11-02, EST = UTC-5
    expect(scheduleOpen(business, at('2026-11-02T14:30:00Z'))).toBe(true); // 09:30 EST
    expect(scheduleOpen(business, at('2026-11-02T13:30:00Z'))).toBe(false); // 08:30 EST (09:30 if still EDT)
    expect(scheduleOpen(business, at('2026-11-02T22:30:00Z'))).toBe(true); // 17:30 EST (18:30 if still EDT)
    expect(scheduleOpen(business, at('2026-11-02T23:30:00Z'))).toBe(false); // 18:30 EST
    // The Friday before is still EDT = UTC-4
    expect(scheduleOpen(business, at('2026-10-30T13:30:00Z'))).toBe(true); // 09:30 EDT
    expect(scheduleOpen(business, at('2026-10-30T12:30:00Z'))).toBe(false); // 08:30 EDT
  });

  test('on the days of the change themselves', () => {
    const daily: Schedule = { timezone: NY, from: '09:00', to: '18:00' };
    expect(scheduleOpen(daily, at('2026-03-08T13:30:00Z'))).toBe(true); // Sun 09:30 EDT
    expect(scheduleOpen(daily, at('2026-03-08T12:30:00Z'))).toBe(false); // Sun 08:30 EDT
    expect(scheduleOpen(daily, at('2026-11-01T14:30:00Z'))).toBe(true); // Sun 09:30 EST
    expect(scheduleOpen(daily, at('2026-11-01T13:30:00Z'))).toBe(false); // Sun 08:30 EST
  });
});

describe('capPeriods', () => {
  const dest = (schedule?: Schedule): ResolvedDestination =>
    resolveDestination(schedule ? { id: 'd', url: 'https://d.example/', schedule } : { id: 'd', url: 'https://d.example/' });

  test('hourly and daily keys in the schedule timezone', () => {
    expect(capPeriods(dest({ timezone: NY }), at('2026-11-25T03:30:00Z'))).toEqual({ hourly: '2026-11-24T22', daily: '2026-11-24' });
    expect(capPeriods(dest({ timezone: NY }), at('2026-07-01T03:30:00Z'))).toEqual({ hourly: '2026-06-30T23', daily: '2026-06-30' });
    expect(capPeriods(dest({ timezone: NY }), at('2026-11-25T05:00:00Z'))).toEqual({ hourly: '2026-11-25T00', daily: '2026-11-25' });
  });

  test('UTC without a schedule', () => {
    expect(capPeriods(dest(), at('2026-11-25T03:30:00Z'))).toEqual({ hourly: '2026-11-25T03', daily: '2026-11-25' });
    expect(capPeriods(dest(), at('2026-12-31T23:59:59Z'))).toEqual({ hourly: '2026-12-31T23', daily: '2026-12-31' });
  });
});
