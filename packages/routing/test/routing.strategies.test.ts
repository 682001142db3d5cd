import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { resolveRoute, type ResolvedRoute, type RouteConfig } from '@leadrouter/config';
import { orderCandidates, seededRandom, STRATEGIES, type StrategyContext, type StrategyName } from '../src/index.js';

function ctx(overrides: Partial<StrategyContext> = {}): StrategyContext {
  return { random: () => 0, rotation: 0, payouts: new Map(), ...overrides };
}

const NAMES: StrategyName[] = ['priority', 'weighted', 'round_robin', 'best_revenue'];
const FC = { seed: 20260308, numRuns: 200 };

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const destIds = fc.uniqueArray(fc.integer({ min: 0, max: 30 }).map((n) => `d${n}`), { minLength: 1, maxLength: 8 });
/** Fallback ids: some new, some repeating destination ids, possibly repeating each other. */
const routeArb = destIds.chain((ids) =>
  fc.record({
    ids: fc.constant(ids),
    weights: fc.array(fc.option(fc.double({ min: 0.01, max: 100, noNaN: true }), { nil: undefined }), {
      minLength: ids.length,
      maxLength: ids.length,
    }),
    fallback: fc.array(fc.oneof(fc.constantFrom(...ids), fc.integer({ min: 0, max: 40 }).map((n) => `f${n}`)), { maxLength: 8 }),
    strategy: fc.constantFrom(...NAMES),
  }),
);
const ctxArb = fc.record({
  random: unit,
  rotation: fc.oneof(fc.integer(), fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER)),
  estimates: fc.option(fc.dictionary(fc.integer({ min: 0, max: 30 }).map((n) => `d${n}`), fc.double({ min: 0, max: 100, noNaN: true })), {
    nil: undefined,
  }),
  payouts: fc.dictionary(fc.integer({ min: 0, max: 30 }).map((n) => `d${n}`), fc.double({ min: 0, max: 100, noNaN: true })),
});

function toRoute(r: { ids: string[]; weights: Array<number | undefined>; fallback: string[]; strategy: StrategyName }): ResolvedRoute {
  return resolveRoute({
    id: 'r',
    strategy: r.strategy,
    destinations: r.ids.map((id, i) => (r.weights[i] === undefined ? { id } : { id, weight: r.weights[i] as number })),
    fallback: r.fallback,
  });
}

function toCtx(c: { random: number; rotation: number; estimates?: Record<string, number>; payouts: Record<string, number> }): StrategyContext {
  return {
    random: () => c.random,
    rotation: c.rotation,
    estimates: c.estimates === undefined ? undefined : new Map(Object.entries(c.estimates)),
    payouts: new Map(Object.entries(c.payouts)),
  };
}

describe('orderCandidates (properties)', () => {
  test('never an id twice; every destination and fallback id present; fallback after destinations in given order', () => {
    fc.assert(
      fc.property(routeArb, ctxArb, (r, c) => {
        const route = toRoute(r);
        const out = orderCandidates(route, toCtx(c));
        expect(new Set(out).size).toBe(out.length);
        const all = new Set([...r.ids, ...r.fallback]);
        expect(new Set(out)).toEqual(all);
        expect(out.length).toBe(all.size);
        // The route's own destinations come first (in strategy order) ...
        expect([...out.slice(0, r.ids.length)].sort()).toEqual([...r.ids].sort());
        // ... then the fallback ids that are not destinations, first occurrences, in their given order.
        const expectedTail: string[] = [];
        for (const id of r.fallback) if (!r.ids.includes(id) && !expectedTail.includes(id)) expectedTail.push(id);
        expect(out.slice(r.ids.length)).toEqual(expectedTail);
      }),
      FC,
    );
  });

  test('a fallback that repeats a destination id does not add it twice', () => {
    const route: RouteConfig = {
      id: 'r',
      strategy: 'priority',
      destinations: [{ id: 'a' }, { id: 'b' }],
      fallback: ['b', 'c', 'a', 'c', 'd'],
    };
    expect(orderCandidates(resolveRoute(route), ctx())).toEqual(['a', 'b', 'c', 'd']);
  });

  test('without a strategy the order is priority, then fallback', () => {
    const route: RouteConfig = { id: 'r', destinations: [{ id: 'z' }, { id: 'a', weight: 100 }, { id: 'm' }], fallback: ['q'] };
    expect(orderCandidates(resolveRoute(route), ctx({ rotation: 5, random: () => 0.99 }))).toEqual(['z', 'a', 'm', 'q']);
  });
});

describe('priority', () => {
  test('keeps config order whatever the context', () => {
    fc.assert(
      fc.property(routeArb, ctxArb, (r, c) => {
        const entries = toRoute(r).destinations;
        expect(STRATEGIES.priority(entries, toCtx(c))).toEqual(r.ids);
      }),
      FC,
    );
  });
});

describe('weighted', () => {
  test('first-choice shares converge to the weights (20,000 draws, within 2 points)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (weights, seed) => {
          const entries = weights.map((weight, i) => ({ id: `d${i}`, weight }));
          const total = weights.reduce((a, b) => a + b, 0);
          const random = seededRandom(seed);
          const counts = new Map<string, number>();
          const draws = 20_000;
          for (let n = 0; n < draws; n++) {
            const first = STRATEGIES.weighted(entries, ctx({ random }))[0] as string;
            counts.set(first, (counts.get(first) ?? 0) + 1);
          }
          for (const e of entries) {
            const share = (counts.get(e.id) ?? 0) / draws;
            expect(Math.abs(share - e.weight / total)).toBeLessThanOrEqual(0.02);
          }
        },
      ),
      { seed: 42, numRuns: 25 },
    );
  });

  test('missing weights count as 1', () => {
    const entries = [{ id: 'a' }, { id: 'b', weight: 3 }];
    const random = seededRandom(7);
    let a = 0;
    const draws = 20_000;
    for (let n = 0; n < draws; n++) if (STRATEGIES.weighted(entries, ctx({ random }))[0] === 'a') a++;
    expect(Math.abs(a / draws - 0.25)).toBeLessThanOrEqual(0.02);
  });

  test('the draw picks by cumulative weight; the rest follow by descending weight, config order among equals', () => {
    const entries = [
      { id: 'a', weight: 1 },
      { id: 'b', weight: 5 },
      { id: 'c', weight: 2 },
      { id: 'd', weight: 2 },
    ];
    // total 10: a = [0, 0.1), b = [0.1, 0.6), c = [0.6, 0.8), d = [0.8, 1)
    expect(STRATEGIES.weighted(entries, ctx({ random: () => 0 }))).toEqual(['a', 'b', 'c', 'd']);
    expect(STRATEGIES.weighted(entries, ctx({ random: () => 0.05 }))).toEqual(['a', 'b', 'c', 'd']);
    expect(STRATEGIES.weighted(entries, ctx({ random: () => 0.1 }))).toEqual(['b', 'c', 'd', 'a']); // intervals are half-open
    expect(STRATEGIES.weighted(entries, ctx({ random: () => 0.3 }))).toEqual(['b', 'c', 'd', 'a']);
    expect(STRATEGIES.weighted(entries, ctx({ random: () => 0.7 }))).toEqual(['c', 'b', 'd', 'a']);
    expect(STRATEGIES.weighted(entries, ctx({ random: () => 0.999999 }))).toEqual(['d', 'b', 'c', 'a']);
  });

  test('a permutation of the entries for any draw', () => {
    fc.assert(
      fc.property(routeArb, unit, (r, x) => {
        const entries = toRoute(r).destinations;
        const out = STRATEGIES.weighted(entries, ctx({ random: () => x }));
        expect([...out].sort()).toEqual([...r.ids].sort());
      }),
      FC,
    );
  });
});

describe('round_robin', () => {
  const mod = (a: number, n: number): number => Number(((BigInt(a) % BigInt(n)) + BigInt(n)) % BigInt(n));

  test('the first choice is entry (rotation mod n), the rest follow cyclically; negative and large counters are fine', () => {
    fc.assert(
      fc.property(
        destIds,
        fc.oneof(fc.integer(), fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER })),
        (ids, rotation) => {
          const entries = ids.map((id) => ({ id }));
          const out = STRATEGIES.round_robin(entries, ctx({ rotation }));
          const start = mod(rotation, ids.length);
          expect(out).toEqual([...ids.slice(start), ...ids.slice(0, start)]);
        },
      ),
      FC,
    );
  });

  test('n consecutive counters give each destination the first choice exactly once', () => {
    fc.assert(
      fc.property(destIds, fc.integer({ min: -1_000_000, max: 1_000_000 }), (ids, base) => {
        const entries = ids.map((id) => ({ id }));
        const firsts = ids.map((_, k) => STRATEGIES.round_robin(entries, ctx({ rotation: base + k }))[0]);
        expect([...firsts].sort()).toEqual([...ids].sort());
      }),
      FC,
    );
  });

  test('concrete rotation', () => {
    const entries = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
    const first = (rotation: number): string | undefined => STRATEGIES.round_robin(entries, ctx({ rotation }))[0];
    expect([0, 1, 2, 3, 4].map(first)).toEqual(['a', 'b', 'c', 'a', 'b']);
    expect(first(-1)).toBe('c');
    expect(first(-3)).toBe('a');
    expect(STRATEGIES.round_robin(entries, ctx({ rotation: 1 }))).toEqual(['b', 'c', 'a']);
    expect(STRATEGIES.round_robin(entries, ctx({ rotation: Number.MAX_SAFE_INTEGER }))).toEqual(['b', 'c', 'a']); // 2^53-1 mod 3 = 1
  });
});

describe('best_revenue', () => {
  test('orders by estimate, falling back to payout, then 0; config order among equals', () => {
    const entries = [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }, { id: 'e' }];
    const payouts = new Map([
      ['a', 10],
      ['b', 20],
      ['c', 5],
      ['d', 30],
    ]);
    expect(STRATEGIES.best_revenue(entries, ctx({ payouts }))).toEqual(['d', 'b', 'a', 'c', 'e']);
    const estimates = new Map([
      ['d', 1],
      ['c', 12],
    ]);
    // a: payout 10, b: payout 20, c: estimate 12, d: estimate 1, e: 0
    expect(STRATEGIES.best_revenue(entries, ctx({ payouts, estimates }))).toEqual(['b', 'c', 'a', 'd', 'e']);
    const tie = new Map([
      ['a', 5],
      ['b', 5],
      ['c', 5],
      ['d', 5],
      ['e', 5],
    ]);
    expect(STRATEGIES.best_revenue(entries, ctx({ payouts: tie }))).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  test('an estimate of 0 is used, not replaced by the payout', () => {
    const entries = [{ id: 'a' }, { id: 'b' }];
    const payouts = new Map([
      ['a', 50],
      ['b', 10],
    ]);
    expect(STRATEGIES.best_revenue(entries, ctx({ payouts, estimates: new Map([['a', 0]]) }))).toEqual(['b', 'a']);
  });

  test('output is sorted by value (estimate ?? payout ?? 0), descending (property)', () => {
    fc.assert(
      fc.property(routeArb, ctxArb, (r, c) => {
        const context = toCtx(c);
        const out = STRATEGIES.best_revenue(toRoute(r).destinations, context);
        expect([...out].sort()).toEqual([...r.ids].sort());
        const value = (id: string): number => context.estimates?.get(id) ?? context.payouts.get(id) ?? 0;
        for (let i = 1; i < out.length; i++) {
          const prev = out[i - 1] as string;
          const cur = out[i] as string;
          expect(value(prev)).toBeGreaterThanOrEqual(value(cur));
          if (value(prev) === value(cur)) expect(r.ids.indexOf(prev)).toBeLessThan(r.ids.indexOf(cur));
        }
      }),
      FC,
    );
  });
});
