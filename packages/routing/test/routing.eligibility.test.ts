import { describe, expect, test } from '@jest/globals';
import { resolveDestination, type DestinationConfig } from '@leadrouter/config';
import { staticSkipReason } from '../src/index.js';

const NY = 'America/New_York';
const at = (iso: string): Date => new Date(iso);

describe('staticSkipReason', () => {
  const base: DestinationConfig = { id: 'buyer-a', url: 'https://buyer-a.example/' };
  const skip = (d: DestinationConfig, lead: { geo: string }, now: Date, tried: ReadonlySet<string>) => staticSkipReason(resolveDestination(d), lead, now, tried);
  const now = at('2026-11-25T15:00:00Z'); // Wednesday 10:00 in New York
  const none = new Set<string>();

  test('an eligible destination has no skip reason', () => {
    expect(skip(base, { geo: 'US' }, now, none)).toBeUndefined();
    expect(skip({ ...base, enabled: true }, { geo: 'US' }, now, new Set(['other']))).toBeUndefined();
  });

  test('disabled', () => {
    expect(skip({ ...base, enabled: false }, { geo: 'US' }, now, none)).toBe('disabled');
  });

  test('already tried for this lead', () => {
    expect(skip(base, { geo: 'US' }, now, new Set(['buyer-a']))).toBe('tried');
  });

  test('accepts geo filter, case-insensitive', () => {
    const d: DestinationConfig = { ...base, accepts: { geo: ['us', 'Ca'] } };
    expect(skip(d, { geo: 'US' }, now, none)).toBeUndefined();
    expect(skip(d, { geo: 'CA' }, now, none)).toBeUndefined();
    expect(skip(d, { geo: 'GB' }, now, none)).toBe('accepts');
    expect(skip({ ...base, accepts: {} }, { geo: 'GB' }, now, none)).toBeUndefined();
  });

  test('outside the schedule', () => {
    const d: DestinationConfig = { ...base, schedule: { timezone: NY, days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '18:00' } };
    expect(skip(d, { geo: 'US' }, now, none)).toBeUndefined();
    expect(skip(d, { geo: 'US' }, at('2026-11-25T13:30:00Z'), none)).toBe('schedule'); // 08:30
    expect(skip(d, { geo: 'US' }, at('2026-11-28T15:00:00Z'), none)).toBe('schedule'); // Saturday
  });
});
