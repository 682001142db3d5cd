/**
 * Where a key lives on a Redis Cluster (contract §12). A cluster places a key by the part of its
 * name inside the first `{…}` (its hash tag), so keys that one Lua step touches together must share
 * a tag. LeadRouter uses three kinds:
 *
 * - a lead bucket `{<c><n>}` (bucketTag): a lead's own keys and the per-bucket sets its steps write with them
 *   (intake outbox, unsold index, notification outbox, ledger stream, owed destination effects).
 *   `c` is one Crockford character, carried in the lead id itself (its first random character),
 *   so any process finds a lead's slot from its id alone. Where dedupe applies, the intake takes
 *   `c` from the dedupe digest, so the dedupe check runs in the same step as the store.
 * - a destination `{d:<id>}`: its cap counters and holds, circuit, learning and day counters.
 * - a queue `{q:<name>}`: each BullMQ queue on its own, so queues spread over shards.
 *
 * The same layout serves a single Redis, where tags change nothing: one layout, two modes.
 */
export const LEAD_BUCKETS = 32;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** The id's first random character (a ULID is 10 characters of time, then 16 random). */
const BUCKET_AT = 10;

/** The lead bucket (0..31) of a lead id. Ids that are not ULIDs (never issued, but looked up) still get one. */
export function leadBucket(leadId: string): number {
  const value = CROCKFORD.indexOf(leadId.charAt(BUCKET_AT).toUpperCase());
  if (value >= 0) return value;
  let sum = 0;
  for (let i = 0; i < leadId.length; i++) sum = (sum * 31 + leadId.charCodeAt(i)) % LEAD_BUCKETS;
  return sum;
}

/** The bucket of a dedupe digest (hex): the lead stored under it gets this bucket in its id. */
export function digestBucket(digestHex: string): number {
  return (parseInt(digestHex.slice(0, 2), 16) || 0) % LEAD_BUCKETS;
}

/**
 * A ULID with its bucket character set. The characters after it still tell ids of one millisecond
 * apart (a monotonic factory increments the last ones), so ids stay unique; within one
 * millisecond they no longer sort in issue order, which nothing relies on (history sorts by time).
 */
export function withBucket(leadId: string, bucket: number): string {
  return leadId.slice(0, BUCKET_AT) + CROCKFORD.charAt(bucket % LEAD_BUCKETS) + leadId.slice(BUCKET_AT + 1);
}

/** The Redis Cluster slot of a key (CRC16/XMODEM of its hash tag, or of the whole key, mod 16384). */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/**
 * The hash tags of the lead buckets: `{<c><n>}`, n the smallest number that puts bucket b's slot in
 * the b-th of 32 equal stripes of the 16384 slots. A cluster gives each master a run of slots, so
 * the buckets spread over 3, 6 or 12 masters as evenly as 32 can (with tags left to chance, a
 * 3-master cluster took 6, 17 and 9 of them). Fixed for good: a lead's keys are named by them.
 */
const BUCKET_TAGS: readonly string[] = Array.from({ length: LEAD_BUCKETS }, (_, b) => {
  const stripe = 16384 / LEAD_BUCKETS;
  for (let n = 0; ; n++) {
    const tag = `${CROCKFORD.charAt(b)}${n}`;
    if (Math.floor(keySlot(`{${tag}}`) / stripe) === b) return `{${tag}}`;
  }
});

/** The hash tag of a lead bucket. */
export function bucketTag(bucket: number): string {
  return BUCKET_TAGS[bucket % LEAD_BUCKETS] as string;
}

/** The hash tag of a destination. Destination ids are `[a-z0-9_-]` (config schema): no brace. */
export function destinationTag(destination: string): string {
  return `{d:${destination}}`;
}

/** Every lead bucket, for the sweepers that visit each one. */
export function allBuckets(): number[] {
  return Array.from({ length: LEAD_BUCKETS }, (_, b) => b);
}
