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
    const estimate = estimateRevenue(10, NO_EVIDENCE, 5, random);
    expect(estimate).toMatchObject({ expected: 5, observations: 0, geoObservations: 0, payout: 10 });
    const draws = Array.from({ length: 4000 }, () => estimateRevenue(10, NO_EVIDENCE, 5, random).sampled);
    // Beta(1, 1) is uniform: draws cover [0, 10) evenly.
    expect(draws.filter((d) => d < 2).length / draws.length).toBeCloseTo(0.2, 1);
    expect(draws.filter((d) => d > 8).length / draws.length).toBeCloseTo(0.2, 1);
  });
});

describe('posteriors', () => {
  test("a geo's estimate leans on the destination's overall acceptance while thin, and on its own counts as they grow", () => {
    // Overall 80 % over 100 outcomes; the geo so far: 1 accepted of 18.
    const c = counts({ a: 81, b: 21, geoA: 2, geoB: 18 });
    // The overall figure lends 5 observations at its mean (81 / 102).
    const lent = posteriorFor(c, 5);
    expect(lent.a).toBeCloseTo(2 + (5 * 81) / 102, 9);
    expect(lent.b).toBeCloseTo(18 + (5 * 21) / 102, 9);
    expect(lent.geoObservations).toBe(18);
    expect(posteriorFor(c, 0)).toEqual({ a: 2, b: 18, geoObservations: 18 });
    // A geo with nothing of its own is valued at the overall figure, with the lent weight only.
    const thin = posteriorFor(counts({ a: 81, b: 21 }), 5);
    expect(thin.a / (thin.a + thin.b)).toBeCloseTo((1 + (5 * 81) / 102) / 7, 9);
    // The lent weight never exceeds what the destination has seen overall.
    const young = posteriorFor(counts({ a: 2, b: 1 }), 5);
    expect(young.a).toBeCloseTo(1 + 2 / 3, 9);
    expect(young.b).toBeCloseTo(1 + 1 / 3, 9);
    expect(estimateRevenue(10, c, 5, seededRandom(2)).expected).toBeCloseTo((10 * lent.a) / (lent.a + lent.b), 9);
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
  test('the configured payout until a sale is learnt, then the learnt price', () => {
    expect(learntPayout(10, {})).toBe(10);
    expect(learntPayout(10, { price: 17.5 })).toBe(17.5);
    expect(estimateRevenue(10, counts({ price: 20 }), 5, seededRandom(1))).toMatchObject({ expected: 10, payout: 20 });
  });

  test('expected revenue is learnt price times the chance of accepting and keeping', () => {
    expect(expectedRevenue(10, counts({ a: 31, b: 11, price: 20 }))).toBeCloseTo((20 * 31) / 42, 9);
  });
});

describe('Thompson sampling explores', () => {
  /** All of a destination's evidence from the lead's geo. */
  const oneGeo = (a: number, b: number): LearnedCounts => counts({ a, b, geoA: a, geoB: b });
  const firstShare = (left: LearnedCounts, right: LearnedCounts, seed: number): number => {
    const random = seededRandom(seed);
    let leftFirst = 0;
    for (let i = 0; i < 4000; i++) {
      const estimates = new Map([
        ['left', estimateRevenue(10, left, 5, random).sampled],
        ['right', estimateRevenue(10, right, 5, random).sampled],
      ]);
      const [first] = STRATEGIES.best_revenue([{ id: 'left' }, { id: 'right' }], { random, rotation: 0, payouts: new Map(), estimates });
      if (first === 'left') leftFirst += 1;
    }
    return leftFirst / 4000;
  };

  test('an untried destination is tried first often enough to be learnt', () => {
    // 'right' is known to accept 30 %; the untried 'left' beats a draw near 0.3 about 70 % of the time.
    const share = firstShare(NO_EVIDENCE, oneGeo(31, 71), 3);
    expect(share).toBeGreaterThan(0.6);
    expect(share).toBeLessThan(0.8);
  });

  test('a destination known to be worse is almost never first, one slightly worse still sometimes', () => {
    expect(firstShare(oneGeo(26, 476), oneGeo(251, 251), 4)).toBeLessThan(0.001);
    const close = firstShare(oneGeo(9, 13), oneGeo(11, 11), 5);
    expect(close).toBeGreaterThan(0.2);
    expect(close).toBeLessThan(0.5);
  });
});
