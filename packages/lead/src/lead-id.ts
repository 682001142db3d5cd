import { monotonicFactory } from 'ulid';

/**
 * Lead ids are ULIDs: opaque, unique, and sorting by arrival time (monotonic within a process,
 * millisecond order across processes). They contain no ':' and are never all digits, so they are
 * valid BullMQ job ids.
 */
const nextUlid = monotonicFactory();

export function newLeadId(now: number = Date.now()): string {
  return nextUlid(now);
}

export function isLeadId(value: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}
