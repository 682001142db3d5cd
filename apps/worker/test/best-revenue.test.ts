import { describe, expect, test } from '@jest/globals';
import { resolveRoute } from '@leadrouter/config';
import { redisKeys } from '@leadrouter/redis';
import { estimateRevenue, orderCandidates, seededRandom } from '@leadrouter/routing';
import { DestinationState, LeadLifecycle } from '@leadrouter/store';
import { testRedisClient, uniquePrefix } from '@leadrouter/testing';

/**
 * A small deterministic market, in process, on the real learning code (Lua in a real Redis) and
 * the real strategy: best_revenue against equal weights on the same lead stream (same seed).
 */
interface Buyer {
  payout: number;
  /** Hidden chance of accepting, by geo. */
  accept: Record<string, number>;
}

async function simulate(strategy: 'best_revenue' | 'weighted', market: (lead: number) => Record<string, Buyer>, leads: number, seed: number) {
  const redis = testRedisClient();
  const keys = redisKeys(uniquePrefix());
  const lifecycle = new LeadLifecycle(redis, keys);
  const destinationState = new DestinationState(redis, keys);
  const random = seededRandom(seed);
  const world = seededRandom(seed + 1);
  const ids = Object.keys(market(0));
  const route = resolveRoute({ id: 'r', strategy, destinations: ids.map((id) => ({ id, ...(strategy === 'weighted' ? { weight: 1 } : {}) })) });
  let revenue = 0;
  const firstChoices: string[] = [];
  try {
    for (let n = 0; n < leads; n++) {
      const buyers = market(n);
      const geo = world() < 0.5 ? 'US' : 'CA';
      const payouts = new Map(ids.map((id) => [id, buyers[id]!.payout]));
      let estimates: Map<string, number> | undefined;
      if (strategy === 'best_revenue') {
        const counts = await destinationState.learned(ids, geo);
        estimates = new Map(ids.map((id) => [id, estimateRevenue(payouts.get(id)!, counts.get(id)!, 5, random).sampled]));
      }
      const [first] = orderCandidates(route, { random, rotation: 0, payouts, ...(estimates ? { estimates } : {}) });
      const buyer = buyers[first as string]!;
      const accepted = world() < (buyer.accept[geo] ?? 0);
      if (accepted) revenue += buyer.payout;
      firstChoices.push(first as string);
      await lifecycle.recordAttempt({
        leadId: `lead${n}`,
        destination: first as string,
        payout: buyer.payout,
        event: { at: '', type: 'attempt' },
        circuit: 'success',
        route: 'all',
        step: '0.0',
        action: 'next',
        circuitThreshold: 1000,
        circuitCooldownMs: 1000,
        outcome: accepted ? 'accepted' : 'rejected',
        day: '2026-11-25',
        geo,
        learningKeep: 1 - 1 / 300,
        priceKeep: 0.9,
      });
    }
  } finally {
    redis.disconnect();
  }
  const share = (id: string, from: number, to: number): number => firstChoices.slice(from, to).filter((c) => c === id).length / (to - from);
  return { revenue, share };
}

describe('best_revenue learns the market (deterministic simulation, real Redis)', () => {
  const stable = (): Record<string, Buyer> => ({
    'pays-most': { payout: 20, accept: { US: 0.1, CA: 0.1 } },
    'earns-most': { payout: 6, accept: { US: 0.8, CA: 0.7 } },
    'middle': { payout: 10, accept: { US: 0.3, CA: 0.3 } },
  });

  test('beats equal weights by a clear margin and converges on the best destination', async () => {
    const best = await simulate('best_revenue', stable, 2500, 7);
    const equal = await simulate('weighted', stable, 2500, 7);
    expect(best.revenue).toBeGreaterThan(equal.revenue * 1.25);
    expect(best.share('earns-most', 2000, 2500)).toBeGreaterThan(0.75);
    expect(equal.share('earns-most', 2000, 2500)).toBeLessThan(0.45);
  }, 60_000);

  test('follows a change: when the best destination starts rejecting a geo, its share there falls within 1,000 leads', async () => {
    // From lead 1,500 on, "earns-most" rejects almost every CA lead; for CA, "middle" is now best.
    const changing = (n: number): Record<string, Buyer> => {
      const buyers = stable();
      if (n >= 1500) buyers['earns-most'] = { payout: 6, accept: { US: 0.8, CA: 0.02 } };
      return buyers;
    };
    const result = await simulate('best_revenue', changing, 2500, 11);
    // Shares over all geos: before the change it leads; after, half its traffic (CA) moves away.
    const before = result.share('earns-most', 1000, 1500);
    const after = result.share('earns-most', 2000, 2500);
    expect(before).toBeGreaterThan(0.75);
    expect(after).toBeLessThan(before - 0.25);
  }, 60_000);
});
