import { describe, expect, test } from '@jest/globals';
import { LEAD_BUCKETS, bucketTag, digestBucket, keySlot, leadBucket, redisKeys, withBucket } from '../src/index.js';

describe('key slots (contract §12)', () => {
  test("keySlot is Redis Cluster's CLUSTER KEYSLOT, hash tags included", () => {
    // Values from Redis (CLUSTER KEYSLOT) and its cluster specification.
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    // An empty tag is no tag: the whole key is hashed.
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
  });

  test('the 32 lead buckets take one stripe of 512 slots each, so they spread evenly over any number of masters', () => {
    const stripes = Array.from({ length: LEAD_BUCKETS }, (_, b) => Math.floor(keySlot(bucketTag(b)) / 512));
    expect(stripes).toEqual(Array.from({ length: LEAD_BUCKETS }, (_, b) => b));
  });

  test("a lead's keys share its bucket's slot; a deduped lead's id carries its digest's bucket, so its dedupe key shares it too", () => {
    const keys = redisKeys('lr', { ledger: true });
    const id = withBucket('01JD3W6Z8Q4X5Y6Z7A8B9C0001', digestBucket('9f86d081884c7d65'));
    const slot = keySlot(keys.lead(id));
    for (const key of [keys.leadData(id), keys.leadEvents(id), keys.leadPostbackIds(id), keys.pending(leadBucket(id)), keys.unsold(leadBucket(id)), keys.notifyOutbox(leadBucket(id)), keys.ledgerStreamOf(id), keys.owedEffects(leadBucket(id)), keys.compactionDue(leadBucket(id)), keys.dedupe('supplier', '9f86d081884c7d65')]) {
      expect(keySlot(key)).toBe(slot);
    }
    const destination = keySlot(keys.circuit('acme'));
    for (const key of [keys.circuitProbe('acme'), keys.cap('acme', 't'), keys.cap('acme', 'h:2026-12-01T10'), keys.learned('acme'), keys.destinationDay('acme', '2026-12-01'), keys.capHolds('acme'), keys.capUnconfirmed('acme'), keys.destinationReceipts('acme')]) {
      expect(keySlot(key)).toBe(destination);
    }
    expect(keySlot(keys.destinationOverrides())).toBe(keySlot(keys.ledgerAudit()));
  });
});
