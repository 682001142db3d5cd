import { afterAll, describe, expect, test } from '@jest/globals';
import { redisKeys } from '@leadrouter/redis';
import { testRedisClient, uniquePrefix } from '@leadrouter/testing';
import { DeliveryState, PostbackState } from '../src/index.js';

/**
 * best_revenue's learning as stored in Redis (the LEARN steps of RECORD_ATTEMPT and POSTBACK):
 * what a try, a sale and each postback do to a destination's Beta counts and learnt price.
 */
describe('learnt figures (real Redis)', () => {
  const redis = testRedisClient();
  afterAll(() => redis.disconnect());

  function setUp() {
    const keys = redisKeys(uniquePrefix());
    const delivery = new DeliveryState(redis, keys);
    const postbacks = new PostbackState(redis, keys, 60_000);
    let n = 0;
    /** One try at `destination` with the given outcome; a sale also stores the lead as sold there. */
    const attempt = async (destination: string, outcome: 'accepted' | 'rejected' | 'error', geo: string, keep = 1, payout = 10): Promise<string> => {
      const leadId = `lead${n++}`;
      await redis.hset(keys.lead(leadId), 'status', 'queued', 'geo', geo, 'source', 'web', 'supplier', 's');
      await delivery.recordAttempt({
        leadId,
        destination,
        event: { at: '', type: 'attempt' },
        healthy: outcome !== 'error',
        action: outcome === 'accepted' ? 'sold' : 'next',
        circuitThreshold: 1000,
        circuitCooldownMs: 1000,
        outcome,
        day: '2026-11-25',
        geo,
        learningKeep: keep,
        payout,
      });
      return leadId;
    };
    const postback = (leadId: string, destination: string, status: string, payout?: number) =>
      postbacks.apply(leadId, destination, status, payout, undefined, { at: '', type: 'postback' });
    const learned = async (destination: string, geo: string) => (await delivery.learned([destination], geo)).get(destination)!;
    return { attempt, postback, learned };
  }

  test('cold start: a destination nothing is known about has a flat prior and no sales', async () => {
    const { learned } = setUp();
    expect(await learned('new', 'US')).toEqual({ a: 1, b: 1, geoA: 1, geoB: 1, paid: 0, sold: 0 });
  });

  test('accepted and rejected tries count overall and for their geo; errors teach nothing', async () => {
    const { attempt, learned } = setUp();
    for (let i = 0; i < 3; i++) await attempt('b', 'accepted', 'US');
    await attempt('b', 'rejected', 'US');
    for (let i = 0; i < 2; i++) await attempt('b', 'rejected', 'CA');
    await attempt('b', 'error', 'CA');
    expect(await learned('b', 'US')).toEqual({ a: 4, b: 4, geoA: 4, geoB: 2, paid: 30, sold: 3 });
    expect(await learned('b', 'CA')).toMatchObject({ geoA: 1, geoB: 3 });
    expect(await learned('b', 'GB')).toMatchObject({ geoA: 1, geoB: 1 });
    expect(await learned('other', 'US')).toMatchObject({ a: 1, b: 1 });
  });

  test('old evidence fades: with memory m the counts never hold more than about m outcomes, and follow a change', async () => {
    const { attempt, learned } = setUp();
    const keep = 1 - 1 / 50;
    for (let i = 0; i < 300; i++) await attempt('b', 'rejected', 'US', keep);
    const before = await learned('b', 'US');
    expect(before.a + before.b - 2).toBeGreaterThan(49);
    expect(before.a + before.b - 2).toBeLessThanOrEqual(50);
    expect(before.a / (before.a + before.b)).toBeLessThan(0.02);
    // The buyer starts accepting everything: 100 outcomes later (two memories) the estimate agrees.
    for (let i = 0; i < 100; i++) await attempt('b', 'accepted', 'US', keep);
    const after = await learned('b', 'US');
    expect(after.a / (after.a + after.b)).toBeGreaterThan(0.85);
  });

  test('a sold lead later returned or rejected counts as a failure, not as a success and a failure', async () => {
    const { attempt, postback, learned } = setUp();
    const kept = await attempt('b', 'accepted', 'US');
    const returned = await attempt('b', 'accepted', 'US');
    expect(await learned('b', 'US')).toMatchObject({ a: 3, b: 1, geoA: 3, geoB: 1 });
    expect((await postback(returned, 'b', 'returned')).result).toBe('applied');
    expect(await learned('b', 'US')).toMatchObject({ a: 2, b: 2, geoA: 2, geoB: 2 });
    expect((await postback(kept, 'b', 'accepted')).result).toBe('applied');
    expect(await learned('b', 'US')).toMatchObject({ a: 2, b: 2 }); // kept: nothing changes
    // A rejection that the buyer withdraws (rejected -> accepted) gives the success back.
    expect((await postback(kept, 'b', 'rejected')).result).toBe('applied');
    expect(await learned('b', 'US')).toMatchObject({ a: 1, b: 3 });
    expect((await postback(kept, 'b', 'accepted')).result).toBe('applied');
    expect(await learned('b', 'US')).toMatchObject({ a: 2, b: 2 });
    // A repeated or refused postback teaches nothing.
    expect((await postback(returned, 'b', 'returned')).result).toBe('duplicate');
    expect((await postback(returned, 'b', 'accepted')).result).toBe('invalid_transition');
    expect(await learned('b', 'US')).toMatchObject({ a: 2, b: 2 });
  });

  test('payout corrections move the learnt price: a buyer that doubles its price is valued at the new price', async () => {
    const { attempt, postback, learned } = setUp();
    const leads: string[] = [];
    for (let i = 0; i < 10; i++) leads.push(await attempt('b', 'accepted', 'US', 1, 10));
    expect(await learned('b', 'US')).toMatchObject({ paid: 100, sold: 10 });
    for (const id of leads) await postback(id, 'b', 'accepted', 20);
    expect(await learned('b', 'US')).toMatchObject({ paid: 200, sold: 10 });
    // A return keeps what the sale paid in the price (the loss is in the Beta counts) ...
    await postback(leads[0]!, 'b', 'returned', 0);
    expect(await learned('b', 'US')).toMatchObject({ paid: 200, a: 10, b: 2 });
    // ... and a downward correction lowers it.
    await postback(leads[1]!, 'b', 'converted', 5);
    expect(await learned('b', 'US')).toMatchObject({ paid: 185 });
  });
});
