import { afterAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { redisKeys } from '@leadrouter/redis';
import { testRedisClient, uniquePrefix } from '@leadrouter/testing';
import { DestinationState, LeadLifecycle } from '../src/index.js';

/**
 * Caps are exact under any interleaving: many leads race for a capped destination, each either
 * sold (keeps its slot) or not (gives it back), in a random order and with random concurrency.
 * The property: the counter never exceeds the cap, and at the end equals the leads that kept a slot.
 */
describe('cap reservations (real Redis)', () => {
  const redis = testRedisClient();
  afterAll(() => redis.disconnect());

  test('never more slots than the cap, and released slots are reusable', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.record({ sells: fc.boolean(), delay: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 25 }),
        async (cap, leads) => {
          const keys = redisKeys(uniquePrefix());
    const state = { lifecycle: new LeadLifecycle(redis, keys), destinations: new DestinationState(redis, keys) };
          const periods = { hourly: '2026-11-25T10', daily: '2026-11-25' };
          const candidate = [{ index: 0, destination: 'capped', caps: { daily: cap }, periods }];
          let kept = 0;
          let maxSeen = 0;
          await Promise.all(
            leads.map(async (lead, i) => {
              await new Promise((r) => setTimeout(r, lead.delay));
              const decision = await state.lifecycle.advance(`lead${i}`, 'start', candidate, 1000);
              const used = (await state.destinations.capUsed('capped', periods)).daily;
              maxSeen = Math.max(maxSeen, used);
              if (decision !== 'd:0') return;
              if (lead.sells) kept += 1;
              else await state.lifecycle.releaseCap(`lead${i}`, 'capped');
            }),
          );
          expect(maxSeen).toBeLessThanOrEqual(cap);
          expect((await state.destinations.capUsed('capped', periods)).daily).toBe(kept);
          expect(kept).toBeLessThanOrEqual(cap);
        },
      ),
      { numRuns: 60, seed: 42 },
    );
  });

  test('a step decided once keeps its decision: a re-run reserves nothing more', async () => {
    const keys = redisKeys(uniquePrefix());
    const state = { lifecycle: new LeadLifecycle(redis, keys), destinations: new DestinationState(redis, keys) };
    const periods = { hourly: 'h', daily: 'd' };
    const candidates = [
      { index: 0, destination: 'a', caps: { total: 1 }, periods },
      { index: 1, destination: 'b', caps: undefined, periods },
    ];
    expect(await state.lifecycle.advance('lead1', 'start', candidates, 1000)).toBe('d:0');
    expect(await state.lifecycle.advance('lead1', 'start', candidates, 1000)).toBe('d:0');
    expect((await state.destinations.capUsed('a', periods)).total).toBe(1);
    // Another lead finds the cap full and goes to b; its re-run also goes to b.
    expect(await state.lifecycle.advance('lead2', 'start', candidates, 1000)).toBe('d:1');
    await state.lifecycle.releaseCap('lead1', 'a');
    expect(await state.lifecycle.advance('lead2', 'start', candidates, 1000)).toBe('d:1');
    expect((await state.destinations.capUsed('a', periods)).total).toBe(0);
  });
});
