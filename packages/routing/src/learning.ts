/**
 * best_revenue's estimator (contract §4): for each destination a Beta posterior of the chance that
 * it accepts a lead and keeps it, overall and per geo, learnt from delivery outcomes and postbacks
 * (in Redis, see LEARN in packages/store). Ordering samples each posterior (Thompson sampling), so
 * a destination that got better is tried often enough to be noticed; old evidence fades
 * (`learning.memory`).
 */
export interface LearnedCounts {
  /** Beta parameters overall (1, 1 = no evidence). */
  a: number;
  b: number;
  /** Beta parameters for the lead's geo. */
  geoA: number;
  geoB: number;
  /** Payouts of sold leads and their count, both fading like the Beta counts (0, 0 = none yet). */
  paid: number;
  sold: number;
}

/** Nothing learnt yet: a flat prior and no sales. */
export const NO_EVIDENCE: LearnedCounts = Object.freeze({ a: 1, b: 1, geoA: 1, geoB: 1, paid: 0, sold: 0 });

export interface RevenueEstimate {
  /** payout × the posterior mean: what the destination is expected to earn per lead. */
  expected: number;
  /** payout × a draw from the posterior: what ordering uses this time. */
  sampled: number;
  /** Effective observations behind the posterior used. */
  observations: number;
  /** Whether the lead's geo had enough evidence of its own. */
  byGeo: boolean;
  /** The price per sold lead it was valued at (learnt, see `learntPayout`). */
  payout: number;
}

/**
 * What a destination pays per sold lead: the configured payout as one pseudo-sale, blended with the
 * payouts its sales actually booked (postbacks can correct them), so a buyer that raised its price
 * is valued at the new price once its sales show it.
 */
export function learntPayout(configured: number, counts: Pick<LearnedCounts, 'paid' | 'sold'>): number {
  return (configured + counts.paid) / (1 + counts.sold);
}

/** Expected revenue per lead offered to the destination, overall: learnt price × posterior mean. */
export function expectedRevenue(configured: number, counts: LearnedCounts): number {
  return (learntPayout(configured, counts) * counts.a) / (counts.a + counts.b);
}

/** The posterior for a lead: its geo's when that has `geoMinObservations`, else the destination's overall one. */
export function posteriorFor(counts: LearnedCounts, geoMinObservations: number): { a: number; b: number; byGeo: boolean } {
  const geoObservations = counts.geoA + counts.geoB - 2;
  return geoObservations >= geoMinObservations ? { a: counts.geoA, b: counts.geoB, byGeo: true } : { a: counts.a, b: counts.b, byGeo: false };
}

export function estimateRevenue(configured: number, counts: LearnedCounts, geoMinObservations: number, random: () => number): RevenueEstimate {
  const { a, b, byGeo } = posteriorFor(counts, geoMinObservations);
  const payout = learntPayout(configured, counts);
  return {
    expected: (payout * a) / (a + b),
    sampled: payout * sampleBeta(a, b, random),
    observations: a + b - 2,
    byGeo,
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
