import { afterAll, describe, expect, test } from '@jest/globals';
import { POSTBACK_STATUSES, POSTBACK_TRANSITIONS, type LeadStatus } from '@leadrouter/lead';
import { leadBucket, redisKeys } from '@leadrouter/redis';
import { testRedisClient, uniquePrefix } from '@leadrouter/testing';
import { MAX_REFUSED_POSTBACKS_PER_LEAD, PostbackState } from '../../src/index.js';

/** postback.lua and record-refused-postback.lua on their own, against the real test Redis. */
const redis = testRedisClient();
afterAll(() => redis.disconnect());

function setUp() {
  const keys = redisKeys(uniquePrefix());
  const postbacks = new PostbackState(redis, keys, 60_000, 0.9);
  let n = 0;
  const soldLead = async (status: LeadStatus = 'delivered', destination = 'a'): Promise<string> => {
    const id = `lead${n++}`;
    await redis.hset(keys.lead(id), 'status', status, 'destination', destination, 'payout', '10', 'source', 'web', 'supplier', 's', 'geo', 'US');
    return id;
  };
  const apply = (id: string, status: string, options: { payout?: number; eventId?: string; destination?: string } = {}) =>
    postbacks.apply(id, options.destination ?? 'a', status, options.payout, options.eventId, { at: '', type: 'postback', status }, `k.${status}`);
  return { keys, postbacks, soldLead, apply };
}

describe('postback', () => {
  // Every (from, to) pair: the Lua step follows packages/lead's table exactly, and it is the only copy.
  const froms: LeadStatus[] = ['delivered', 'accepted', 'rejected', 'converted', 'returned'];
  test.each(froms.flatMap((from) => POSTBACK_STATUSES.filter((to) => to !== from).map((to) => [from, to] as const)))('%s -> %s follows POSTBACK_TRANSITIONS', async (from, to) => {
    const { keys, soldLead, apply } = setUp();
    const id = await soldLead(from);
    const allowed = (POSTBACK_TRANSITIONS[from] ?? []).includes(to);
    const outcome = await apply(id, to);
    expect(outcome.result).toBe(allowed ? 'applied' : 'invalid_transition');
    expect(await redis.hget(keys.lead(id), 'status')).toBe(allowed ? to : from);
    expect(await redis.zcard(keys.notifyOutbox(leadBucket(id)))).toBe(allowed ? 1 : 0);
  });

  test('the same status or a seen event id is a duplicate that changes nothing; a payout correction is kept, a returned payout is not', async () => {
    const { keys, soldLead, apply } = setUp();
    const id = await soldLead();
    expect(await apply(id, 'accepted', { eventId: 'e1', payout: 12 })).toMatchObject({ result: 'applied', status: 'accepted', oldPayout: 10, newPayout: 12, source: 'web', supplier: 's' });
    expect((await apply(id, 'converted', { eventId: 'e1' })).result).toBe('duplicate');
    expect((await apply(id, 'accepted')).result).toBe('duplicate');
    expect(await apply(id, 'returned', { payout: 99 })).toMatchObject({ result: 'applied', oldPayout: 12, newPayout: 12 });
    expect(await redis.hget(keys.lead(id), 'payout')).toBe('12');
  });

  test("another destination's lead is not_found; a queued lead with this destination in its plan is pending", async () => {
    const { keys, soldLead, apply } = setUp();
    const other = await soldLead('delivered', 'b');
    expect((await apply(other, 'accepted')).result).toBe('not_found');
    expect((await apply('missing', 'accepted')).result).toBe('not_found');
    await redis.hset(keys.lead('queued1'), 'status', 'queued', 'plan', JSON.stringify({ route: 'r', candidates: ['b', 'a'], round: 0 }));
    expect((await apply('queued1', 'accepted')).result).toBe('pending');
    expect((await apply('queued1', 'accepted', { destination: 'c' })).result).toBe('not_found');
  });
});

describe('refused postbacks are recorded up to the bound', () => {
  test(`invalid ones (record-refused-postback) and repeats (postback) share the bound of ${MAX_REFUSED_POSTBACKS_PER_LEAD}`, async () => {
    const { keys, postbacks, soldLead, apply } = setUp();
    const id = await soldLead();
    expect(await postbacks.recordRefused(id, 'a', { at: '', type: 'postback', result: 'invalid' })).toBe('web');
    expect(await postbacks.recordRefused(id, 'b', { at: '', type: 'postback', result: 'invalid' })).toBeUndefined();
    for (let i = 1; i < MAX_REFUSED_POSTBACKS_PER_LEAD + 5; i++) await apply(id, 'delivered');
    expect(await redis.llen(keys.leadEvents(id))).toBe(MAX_REFUSED_POSTBACKS_PER_LEAD);
    expect((await apply(id, 'accepted')).result).toBe('applied');
    expect(await redis.llen(keys.leadEvents(id))).toBe(MAX_REFUSED_POSTBACKS_PER_LEAD + 1);
  });
});
