import type { ResolvedDestination } from '@leadrouter/config';
import { scheduleOpen } from './schedule.js';

export type SkipReason = 'disabled' | 'schedule' | 'accepts' | 'tried' | 'circuit_open' | 'cap';

/**
 * The checks that need no shared state: enabled, schedule, `accepts` filter, not tried before.
 * Circuit and caps are shared across workers and checked atomically in Redis afterwards.
 */
export function staticSkipReason(
  destination: ResolvedDestination,
  lead: { geo: string },
  now: Date,
  tried: ReadonlySet<string>,
): SkipReason | undefined {
  if (!destination.enabled) return 'disabled';
  if (tried.has(destination.id)) return 'tried';
  const geos = destination.accepts?.geo;
  if (geos && !geos.some((g) => g.toUpperCase() === lead.geo)) return 'accepts';
  if (!scheduleOpen(destination.schedule, now)) return 'schedule';
  return undefined;
}
