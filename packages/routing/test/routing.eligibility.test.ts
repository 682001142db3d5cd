import { describe, expect, test } from '@jest/globals';
import type { DestinationConfig } from '@leadrouter/config';
import { staticSkipReason } from '../src/index.js';

const NY = 'America/New_York';
const at = (iso: string): Date => new Date(iso);

describe('staticSkipReason', () => {
  const base: DestinationConfig = { id: 'buyer-a', url: 'https://buyer-a.example/' };
  const now = at('2026-11-25T15:00:00Z'); // Wednesday 10:00 in New York
  const none = new Set<string>();

  test('an eligible destination has no skip reason', () => {
    expect(staticSkipReason(base, { geo: 'US' }, now, none)).toBeUndefined();
    expect(staticSkipReason({ ...base, enabled: true }, { geo: 'US' }, now, new Set(['other']))).toBeUndefined();
  });

  test('disabled', () => {
    expect(staticSkipReason({ ...base, enabled: false }, { geo: 'US' }, now, none)).toBe('disabled');
  });

  test('already tried for this lead', () => {
    expect(staticSkipReason(base, { geo: 'US' }, now, new Set(['buyer-a']))).toBe('tried');
  });

  test('accepts geo filter, case-insensitive', () => {
    const d: DestinationConfig = { ...base, accepts: { geo: ['us', 'Ca'] } };
    expect(staticSkipReason(d, { geo: 'US' }, now, none)).toBeUndefined();
    expect(staticSkipReason(d, { geo: 'CA' }, now, none)).toBeUndefined();
    expect(staticSkipReason(d, { geo: 'GB' }, now, none)).toBe('accepts');
    expect(staticSkipReason({ ...base, accepts: {} }, { geo: 'GB' }, now, none)).toBeUndefined();
  });

  test('outside the schedule', () => {
    const d: DestinationConfig = { ...base, schedule: { timezone: NY, days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '18:00' } };
    expect(staticSkipReason(d, { geo: 'US' }, now, none)).toBeUndefined();
    expect(staticSkipReason(d, { geo: 'US' }, at('2026-11-25T13:30:00Z'), none)).toBe('schedule'); // 08:30
    expect(staticSkipReason(d, { geo: 'US' }, at('2026-11-28T15:00:00Z'), none)).toBe('schedule'); // Saturday
  });
});
