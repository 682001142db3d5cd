import type { ResolvedRoute } from '@leadrouter/config';

export type StrategyName = 'priority' | 'weighted' | 'round_robin' | 'best_revenue' | 'auction';

export interface StrategyContext {
  /** Uniform in [0, 1): injected so tests and simulations are deterministic. */
  random: () => number;
  /** A counter shared by all worker processes (Redis INCR per route), for round_robin. */
  rotation: number;
  /** Expected revenue per lead by destination id (best_revenue); missing ids count as their payout. */
  estimates?: ReadonlyMap<string, number>;
  /** Payout by destination id, the prior of best_revenue. */
  payouts: ReadonlyMap<string, number>;
}

export type Strategy = (entries: ReadonlyArray<{ id: string; weight?: number }>, ctx: StrategyContext) => string[];

const priority: Strategy = (entries) => entries.map((e) => e.id);

/**
 * The first choice is drawn with probability weight / total; the rest follow by descending weight
 * (config order among equal weights). Over many leads the first-choice shares match the weights.
 */
const weighted: Strategy = (entries, ctx) => {
  const weights = entries.map((e) => e.weight ?? 1);
  const total = weights.reduce((a, b) => a + b, 0);
  let draw = ctx.random() * total;
  let first = entries.length - 1;
  for (let i = 0; i < entries.length; i++) {
    draw -= weights[i] as number;
    if (draw < 0) {
      first = i;
      break;
    }
  }
  const rest = entries
    .map((e, i) => ({ id: e.id, weight: weights[i] as number, i }))
    .filter((e) => e.i !== first)
    .sort((a, b) => b.weight - a.weight || a.i - b.i)
    .map((e) => e.id);
  return [(entries[first] as { id: string }).id, ...rest];
};

/** The first choice rotates through the list; the others follow in list order after it. */
const roundRobin: Strategy = (entries, ctx) => {
  const n = entries.length;
  const start = ((ctx.rotation % n) + n) % n;
  return entries.map((_, i) => (entries[(start + i) % n] as { id: string }).id);
};

/**
 * Highest expected revenue per lead first. The estimates come from the learner (issue #6); without
 * them each destination is valued at its payout, so the order is by payout.
 */
const bestRevenue: Strategy = (entries, ctx) =>
  entries
    .map((e, i) => ({ id: e.id, i, value: ctx.estimates?.get(e.id) ?? ctx.payouts.get(e.id) ?? 0 }))
    .sort((a, b) => b.value - a.value || a.i - b.i)
    .map((e) => e.id);

/**
 * An auction's order is its ranking, from the bids of its pings (the worker's ping phase, which
 * puts the ranked bidders first); from the config alone it offers no bidder anything: a bidder
 * never gets the lead's contact data unasked.
 */
const auction: Strategy = () => [];

export const STRATEGIES: Readonly<Record<StrategyName, Strategy>> = {
  priority,
  weighted,
  round_robin: roundRobin,
  best_revenue: bestRevenue,
  auction,
};

/** The route's destinations in strategy order, then its fallback ids; never an id twice. */
export function orderCandidates(route: ResolvedRoute, ctx: StrategyContext): string[] {
  const strategy = STRATEGIES[route.strategy];
  const ordered = [...strategy(route.destinations, ctx), ...route.fallback];
  return [...new Set(ordered)];
}
