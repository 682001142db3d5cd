import { afterAll, describe, expect, test } from '@jest/globals';
import { redisKeys } from '@leadrouter/redis';
import { testRedisClient, uniquePrefix } from '@leadrouter/testing';
import { DestinationState, LeadLifecycle, PostbackState } from '../src/index.js';

/**
 * best_revenue's learning as stored in Redis (the LEARN steps of RECORD_ATTEMPT and POSTBACK):
 * what a try, a sale and each postback do to a destination's Beta counts and learnt price.
 */
describe('learnt figures (real Redis)', () => {
  const redis = testRedisClient();
  afterAll(() => redis.disconnect());

  function setUp(priceKeep = 0.9) {
    const keys = redisKeys(uniquePrefix());
    const delivery = new LeadLifecycle(redis, keys);
    const destinationState = new DestinationState(redis, keys);
    const postbacks = new PostbackState(redis, keys, 60_000, priceKeep);
    let n = 0;
    const newLead = async (geo: string): Promise<string> => {
      const leadId = `lead${n++}`;
      await redis.hset(keys.lead(leadId), 'status', 'queued', 'geo', geo, 'source', 'web', 'supplier', 's');
      return leadId;
    };
    /** One try of `leadId` at `destination`; an accepted one sells the lead there. */
    const tryAt = async (leadId: string, destination: string, outcome: 'accepted' | 'rejected' | 'error', options: { keep?: number; payout?: number } = {}): Promise<void> => {
      const geo = (await redis.hget(keys.lead(leadId), 'geo')) ?? '';
      // A try is of a lead that chose the destination and holds a cap slot there, as a worker's does.
      await delivery.advance(leadId, `pick${n++}`, [{ index: 0, destination, caps: undefined, periods: { hourly: '2026-11-25T10', daily: '2026-11-25' } }], 1000);
      await delivery.recordAttempt({
        leadId,
        destination,
        event: { at: '', type: 'attempt' },
        circuit: outcome === 'error' ? 'failure' : 'success',
        route: 'all',
        step: '0.0',
        action: outcome === 'accepted' ? 'sold' : 'next',
        circuitThreshold: 1000,
        circuitCooldownMs: 1000,
        outcome,
        day: '2026-11-25',
        geo,
        learningKeep: options.keep ?? 1,
        priceKeep,
        payout: options.payout ?? 10,
      });
    };
    /** A new lead offered first to `destination`. */
    const attempt = async (destination: string, outcome: 'accepted' | 'rejected' | 'error', geo: string, options: { keep?: number; payout?: number } = {}): Promise<string> => {
      const leadId = await newLead(geo);
      await tryAt(leadId, destination, outcome, options);
      return leadId;
    };
    const postback = (leadId: string, destination: string, status: string, payout?: number) =>
      postbacks.apply(leadId, destination, status, payout, undefined, { at: '', type: 'postback' }, `pb.${status}`);
    const learned = async (destination: string, geo: string) => (await destinationState.learned([destination], geo)).get(destination)!;
    return { newLead, tryAt, attempt, postback, learned };
  }

  test('cold start: a destination nothing is known about has a flat prior and no learnt price', async () => {
    const { learned } = setUp();
    expect(await learned('new', 'US')).toEqual({ a: 1, b: 1, geoA: 1, geoB: 1 });
  });

  test('accepted and rejected first offers count overall and for their geo; errors teach nothing', async () => {
    const { attempt, learned } = setUp();
    for (let i = 0; i < 3; i++) await attempt('b', 'accepted', 'US');
    await attempt('b', 'rejected', 'US');
    for (let i = 0; i < 2; i++) await attempt('b', 'rejected', 'CA');
    await attempt('b', 'error', 'CA');
    expect(await learned('b', 'US')).toEqual({ a: 4, b: 4, geoA: 4, geoB: 2, price: 10 });
    expect(await learned('b', 'CA')).toMatchObject({ geoA: 1, geoB: 3 });
    expect(await learned('b', 'GB')).toMatchObject({ geoA: 1, geoB: 1 });
    expect(await learned('other', 'US')).toEqual({ a: 1, b: 1, geoA: 1, geoB: 1 });
  });

  test("only a lead's first answer teaches acceptance; an error before it does not spoil it; every sale teaches the price", async () => {
    const { newLead, tryAt, learned } = setUp();
    const shopped = await newLead('US');
    await tryAt(shopped, 'first', 'rejected');
    await tryAt(shopped, 'second', 'accepted', { payout: 30 });
    expect(await learned('first', 'US')).toMatchObject({ a: 1, b: 2 });
    expect(await learned('second', 'US')).toEqual({ a: 1, b: 1, geoA: 1, geoB: 1, price: 30 });
    const afterError = await newLead('US');
    await tryAt(afterError, 'down', 'error');
    await tryAt(afterError, 'second', 'rejected');
    expect(await learned('second', 'US')).toMatchObject({ a: 1, b: 2 });
    // A repeat of the first try (a re-run after a crash) is not learnt twice.
    await tryAt(afterError, 'second', 'rejected');
    expect(await learned('second', 'US')).toMatchObject({ a: 1, b: 2 });
  });

  test('old evidence fades: with memory m the counts never hold more than about m outcomes, and follow a change', async () => {
    const { attempt, learned } = setUp();
    const keep = 1 - 1 / 50;
    for (let i = 0; i < 300; i++) await attempt('b', 'rejected', 'US', { keep });
    const before = await learned('b', 'US');
    expect(before.a + before.b - 2).toBeGreaterThan(49);
    expect(before.a + before.b - 2).toBeLessThanOrEqual(50);
    expect(before.a / (before.a + before.b)).toBeLessThan(0.02);
    // The buyer starts accepting everything: 100 outcomes later (two memories) the estimate agrees.
    for (let i = 0; i < 100; i++) await attempt('b', 'accepted', 'US', { keep });
    const after = await learned('b', 'US');
    expect(after.a / (after.a + after.b)).toBeGreaterThan(0.85);
  });

  test('a learnt sale later returned or rejected counts as a failure, not as a success and a failure', async () => {
    const { newLead, tryAt, attempt, postback, learned } = setUp();
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
    // A sale that was not a first offer was never learnt, so its return corrects nothing.
    const shopped = await newLead('US');
    await tryAt(shopped, 'other', 'rejected');
    await tryAt(shopped, 'b', 'accepted');
    expect((await postback(shopped, 'b', 'returned')).result).toBe('applied');
    expect(await learned('b', 'US')).toMatchObject({ a: 2, b: 2 });
  });

  test('near the prior a correction moves only what there is, and withdrawing it moves back exactly that', async () => {
    const { attempt, postback, learned } = setUp();
    // A rejection, then a sale with keep 0.3: a = 1 + 0 + 1 = 2, b = 1 + 1 * 0.3 = 1.3.
    await attempt('thin', 'rejected', 'US');
    const sold = await attempt('thin', 'accepted', 'US', { keep: 0.3 });
    const before = await learned('thin', 'US');
    expect(before.a).toBeCloseTo(2, 6);
    expect(before.b).toBeCloseTo(1.3, 6);
    // Fade once more with a rejection of another lead: a = 1 + 1 * 0.3 = 1.3, b = 1 + 0.3 * 0.3 + 1 = 2.09.
    await attempt('thin', 'rejected', 'US', { keep: 0.3 });
    const faded = await learned('thin', 'US');
    expect(faded.a).toBeCloseTo(1.3, 6);
    expect(faded.b).toBeCloseTo(2.09, 6);

    // The buyer rejects the sold lead: only the 0.3 above the prior can move, not a whole 1.
    expect((await postback(sold, 'thin', 'rejected')).result).toBe('applied');
    const rejected = await learned('thin', 'US');
    expect(rejected.a).toBeCloseTo(1, 6);
    expect(rejected.b).toBeCloseTo(2.39, 6);
    // It withdraws the rejection: the same 0.3 moves back, and the counts are as before.
    expect((await postback(sold, 'thin', 'accepted')).result).toBe('applied');
    const restored = await learned('thin', 'US');
    expect(restored.a).toBeCloseTo(faded.a, 6);
    expect(restored.b).toBeCloseTo(faded.b, 6);
    expect(restored.geoA).toBeCloseTo(faded.geoA, 6);
    expect(restored.geoB).toBeCloseTo(faded.geoB, 6);
  });

  test('the learnt price follows sales and payout corrections: a buyer that doubles its price is soon valued at it', async () => {
    const { attempt, postback, learned } = setUp(0.9);
    const leads: string[] = [];
    for (let i = 0; i < 10; i++) leads.push(await attempt('b', 'accepted', 'US', { payout: 10 }));
    expect((await learned('b', 'US')).price).toBe(10);
    // Each sale's correction moves the price by its share (1 - priceKeep) of the difference.
    for (const id of leads) await postback(id, 'b', 'accepted', 20);
    expect((await learned('b', 'US')).price).toBeCloseTo(20, 5);
    // A return leaves the price alone (the loss is in the Beta counts) ...
    await postback(leads[0]!, 'b', 'returned', 0);
    expect((await learned('b', 'US')).price).toBeCloseTo(20, 5);
    // ... so does a rejection that zeroes the payout (counting it in the price too would count the loss twice) ...
    await postback(leads[2]!, 'b', 'rejected', 0);
    expect((await learned('b', 'US')).price).toBeCloseTo(20, 5);
    // ... a downward correction lowers it, and new sales pull it towards what they pay.
    await postback(leads[1]!, 'b', 'converted', 5);
    expect((await learned('b', 'US')).price).toBeCloseTo(18.5, 5);
    for (let i = 0; i < 30; i++) await attempt('b', 'accepted', 'US', { payout: 12 });
    expect((await learned('b', 'US')).price).toBeCloseTo(12 + 6.5 * 0.9 ** 30, 4);
  });
});
