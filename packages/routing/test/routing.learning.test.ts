import { describe, expect, test } from '@jest/globals';
import { estimateRevenue, expectedRevenue, learntPayout, NO_EVIDENCE, posteriorFor, sampleBeta, seededRandom, STRATEGIES, type LearnedCounts } from '../src/index.js';

/** best_revenue's estimator, pure part: posteriors, geo fall-back, learnt price, sampling. */
const counts = (c: Partial<LearnedCounts>): LearnedCounts => ({ ...NO_EVIDENCE, ...c });

function meanAndVariance(values: number[]): { mean: number; variance: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return { mean, variance: values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length };
}

describe('cold start', () => {
  test('with no evidence a destination is worth half its payout, and sampling spreads over the whole range', () => {
    const random = seededRandom(1);
    const estimate = estimateRevenue(10, NO_EVIDENCE, 20, random);
    expect(estimate).toMatchObject({ expected: 5, observations: 0, byGeo: false, payout: 10 });
    const draws = Array.from({ length: 4000 }, () => estimateRevenue(10, NO_EVIDENCE, 20, random).sampled);
    // Beta(1, 1) is uniform: draws cover [0, 10) evenly.
    expect(draws.filter((d) => d < 2).length / draws.length).toBeCloseTo(0.2, 1);
    expect(draws.filter((d) => d > 8).length / draws.length).toBeCloseTo(0.2, 1);
  });
});

describe('posteriors', () => {
  test("a geo's own counts are used once they hold geoMinObservations outcomes, the overall ones before", () => {
    const c = counts({ a: 81, b: 21, geoA: 2, geoB: 18 });
    expect(posteriorFor(c, 20)).toEqual({ a: 81, b: 21, byGeo: false }); // the geo has 18 outcomes
    expect(posteriorFor(c, 18)).toEqual({ a: 2, b: 18, byGeo: true });
    expect(posteriorFor(c, 0)).toEqual({ a: 2, b: 18, byGeo: true });
    expect(estimateRevenue(10, c, 20, seededRandom(2)).expected).toBeCloseTo((10 * 81) / 102, 6);
    expect(estimateRevenue(10, c, 18, seededRandom(2)).expected).toBeCloseTo((10 * 2) / 20, 6);
  });

  test.each([
    [3, 7],
    [30, 70],
    [0.5, 0.5],
    [1, 40],
  ])('Beta(%d, %d) draws have the right mean and variance', (a, b) => {
    const random = seededRandom(a * 100 + b);
    const n = 20_000;
    const { mean, variance } = meanAndVariance(Array.from({ length: n }, () => sampleBeta(a, b, random)));
    const trueVariance = (a * b) / ((a + b) ** 2 * (a + b + 1));
    // Within four standard errors of the true mean; the variance within 5 %.
    expect(Math.abs(mean - a / (a + b))).toBeLessThan(4 * Math.sqrt(trueVariance / n));
    expect(variance / trueVariance).toBeGreaterThan(0.95);
    expect(variance / trueVariance).toBeLessThan(1.05);
  });
});

describe('learnt price', () => {
  test('the configured payout counts as one sale; booked payouts take over as sales come in', () => {
    expect(learntPayout(10, { paid: 0, sold: 0 })).toBe(10);
    expect(learntPayout(10, { paid: 20, sold: 1 })).toBe(15);
    expect(learntPayout(10, { paid: 2000, sold: 100 })).toBeCloseTo(2010 / 101, 9);
  });

  test('expected revenue is learnt price times the chance of accepting and keeping', () => {
    expect(expectedRevenue(10, counts({ a: 31, b: 11, paid: 400, sold: 20 }))).toBeCloseTo(((10 + 400) / 21) * (31 / 42), 6);
  });
});

describe('Thompson sampling explores', () => {
  const firstShare = (left: LearnedCounts, right: LearnedCounts, seed: number): number => {
    const random = seededRandom(seed);
    let leftFirst = 0;
    for (let i = 0; i < 4000; i++) {
      const estimates = new Map([
        ['left', estimateRevenue(10, left, 20, random).sampled],
        ['right', estimateRevenue(10, right, 20, random).sampled],
      ]);
      const [first] = STRATEGIES.best_revenue([{ id: 'left' }, { id: 'right' }], { random, rotation: 0, payouts: new Map(), estimates });
      if (first === 'left') leftFirst += 1;
    }
    return leftFirst / 4000;
  };

  test('an untried destination is tried first often enough to be learnt', () => {
    // 'right' is known to accept 30 %; the untried 'left' beats a draw near 0.3 about 70 % of the time.
    const share = firstShare(NO_EVIDENCE, counts({ a: 31, b: 71 }), 3);
    expect(share).toBeGreaterThan(0.6);
    expect(share).toBeLessThan(0.8);
  });

  test('a destination known to be worse is almost never first, one slightly worse still sometimes', () => {
    expect(firstShare(counts({ a: 26, b: 476 }), counts({ a: 251, b: 251 }), 4)).toBeLessThan(0.001);
    const close = firstShare(counts({ a: 9, b: 13 }), counts({ a: 11, b: 11 }), 5);
    expect(close).toBeGreaterThan(0.2);
    expect(close).toBeLessThan(0.5);
  });
});
