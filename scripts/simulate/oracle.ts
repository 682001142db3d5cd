/**
 * The oracle: a router that knows the market's hidden terms at every moment. For each lead it
 * offers the buyers in order of their true expected revenue (price, or in an auction market the
 * lead's bid, × chance of accepting × chance of keeping), skipping a buyer that is down or at its cap, meeting the same dice as the real runs.
 */
import { accepts, bidFor, returns, type LeadDraw, type Market } from './market.js';

export interface LeadOutcome {
  /** The buyer that got the first offer, the buyer that bought (undefined: unsold). */
  firstOffer: string | undefined;
  soldTo: string | undefined;
  /** What the sale earned after returns. */
  revenue: number;
}

export function oracleOutcomes(market: Market, draws: LeadDraw[]): LeadOutcome[] {
  const sold = new Map<string, number>();
  return draws.map((draw, n) => {
    const order = market.buyers
      .map((buyer, b) => ({ buyer, b, terms: buyer.terms(n) }))
      .filter(({ buyer, terms }) => !terms.down && (buyer.cap === undefined || (sold.get(buyer.id) ?? 0) < buyer.cap))
      .sort((x, y) => value(y.terms, draw, bidFor(market, draws, n, y.b)) - value(x.terms, draw, bidFor(market, draws, n, x.b)));
    let answered = 0;
    for (const { buyer, b, terms } of order) {
      if (accepts(market, draws, n, b, answered)) {
        sold.set(buyer.id, (sold.get(buyer.id) ?? 0) + 1);
        // In an auction market the price is the lead's bid.
        const price = bidFor(market, draws, n, b) ?? terms.price;
        return { firstOffer: order[0]?.buyer.id, soldTo: buyer.id, revenue: returns(market, draws, n, b) ? 0 : price };
      }
      answered += 1;
    }
    return { firstOffer: order[0]?.buyer.id, soldTo: undefined, revenue: 0 };
  });
}

function value(terms: { price: number; accept: Record<string, number>; returnRate: number }, draw: LeadDraw, bid: number | undefined): number {
  return (bid ?? terms.price) * (terms.accept[draw.geo] ?? 0) * (1 - terms.returnRate);
}
