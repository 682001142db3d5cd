import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/**
 * ulid's default PRNG makes one crypto call per random character (16 per new millisecond); at
 * thousands of leads a second that showed in the intake's profile. The same crypto randomness,
 * drawn 4 KiB at a time.
 */
const pool = Buffer.alloc(4096);
let next = pool.length;
function pooledRandom(): number {
  if (next >= pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return (pool[next++] as number) / 256;
}

/**
 * Lead ids are ULIDs: opaque, unique, and sorting by arrival time (monotonic within a process,
 * millisecond order across processes). They contain no ':' and are never all digits, so they are
 * valid BullMQ job ids.
 */
const nextUlid = monotonicFactory(pooledRandom);

export function newLeadId(now: number = Date.now()): string {
  return nextUlid(now);
}

export function isLeadId(value: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}
