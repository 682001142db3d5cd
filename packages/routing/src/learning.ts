/**
 * best_revenue's estimator (contract §4). For each destination, learnt from delivery outcomes and
 * postbacks (in Redis, see the LEARN steps in packages/store):
 * - a Beta posterior of the chance that it accepts a lead offered to it first and keeps it, overall
 *   and per geo. Only first offers teach it: a lead that other buyers already turned down is not the
 *   same lead (it is older, and a lead one buyer rejects is more likely to be rejected by the next),
 *   so counting later offers would make every fallback destination look worse than it is;
 * - the price it pays per sold lead, following its recent sales and postback corrections.
 * Ordering samples each posterior (Thompson sampling), so a destination that got better is offered
 * leads often enough to be noticed; old evidence fades (`learning.memory`).
 */
export interface LearnedCounts {
  /** Beta parameters overall (1, 1 = no evidence). */
  a: number;
  b: number;
  /** Beta parameters from the lead's geo alone. */
  geoA: number;
  geoB: number;
  /** The learnt price per sold lead; absent until the destination sold one. */
  price?: number;
}

/** Nothing learnt yet: a flat prior and no sales. */
export const NO_EVIDENCE: LearnedCounts = Object.freeze({ a: 1, b: 1, geoA: 1, geoB: 1 });

export interface RevenueEstimate {
  /** price × the posterior mean: what the destination is expected to earn per lead. */
  expected: number;
  /** price × a draw from the posterior: what ordering uses this time. */
  sampled: number;
  /** Effective observations behind the posterior: the geo's own plus what the overall figure lends. */
  observations: number;
  /** Effective observations from the lead's geo alone. */
  geoObservations: number;
  /** The price per sold lead it was valued at (`learntPayout`). */
  payout: number;
}

/**
 * The posterior for a lead's geo: the geo's own counts, with the destination's overall acceptance
 * lent as `geoPrior` pseudo-observations. A thin geo is valued near the destination's overall
 * figure; as its own evidence grows, it takes over.
 */
export function posteriorFor(counts: LearnedCounts, geoPrior: number): { a: number; b: number; geoObservations: number } {
  const overallMean = counts.a / (counts.a + counts.b);
  const lent = Math.min(geoPrior, counts.a + counts.b - 2);
  return { a: counts.geoA + lent * overallMean, b: counts.geoB + lent * (1 - overallMean), geoObservations: counts.geoA + counts.geoB - 2 };
}

/** What a destination pays per sold lead: what its recent sales booked, the configured payout before any. */
export function learntPayout(configured: number, counts: Pick<LearnedCounts, 'price'>): number {
  return counts.price ?? configured;
}

/** Expected revenue per lead offered to the destination, overall: learnt price × posterior mean. */
export function expectedRevenue(configured: number, counts: LearnedCounts): number {
  return (learntPayout(configured, counts) * counts.a) / (counts.a + counts.b);
}

export function estimateRevenue(configured: number, counts: LearnedCounts, geoPrior: number, random: () => number): RevenueEstimate {
  const { a, b, geoObservations } = posteriorFor(counts, geoPrior);
  const payout = learntPayout(configured, counts);
  return {
    expected: (payout * a) / (a + b),
    sampled: payout * sampleBeta(a, b, random),
    observations: a + b - 2,
    geoObservations,
    payout,
  };
}
/** A draw from Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(a: number, b: number, random: () => number): number {
  const x = sampleGamma(a, random);
  const y = sampleGamma(b, random);
  return x + y === 0 ? 0.5 : x / (x + y);
}

/** Marsaglia and Tsang's method; shapes below 1 through the boost Gamma(k) = Gamma(k + 1) · U^(1/k). */
function sampleGamma(shape: number, random: () => number): number {
  if (shape < 1) return sampleGamma(shape + 1, random) * Math.pow(Math.max(random(), 1e-12), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = Math.max(random(), 1e-12);
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function standardNormal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
