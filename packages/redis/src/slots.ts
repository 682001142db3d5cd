/**
 * Where a key lives on a Redis Cluster (contract §12). A cluster places a key by the part of its
 * name inside the first `{…}` (its hash tag), so keys that one Lua step touches together must share
 * a tag. LeadRouter uses three kinds:
 *
 * - a lead bucket `{<c>}`: a lead's own keys and the per-bucket sets its steps write with them
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

/** The hash tag of a lead bucket. */
export function bucketTag(bucket: number): string {
  return `{${CROCKFORD.charAt(bucket % LEAD_BUCKETS)}}`;
}

/** The hash tag of a destination. Destination ids are `[a-z0-9_-]` (config schema): no brace. */
export function destinationTag(destination: string): string {
  return `{d:${destination}}`;
}

/** Every lead bucket, for the sweepers that visit each one. */
export function allBuckets(): number[] {
  return Array.from({ length: LEAD_BUCKETS }, (_, b) => b);
}
