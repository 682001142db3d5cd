/**
 * The simulator's scripted market (pure): buyers with hidden acceptance by geo, prices, return
 * rates and a cap, and the changes that happen mid-run. Everything a buyer decides about lead n is
 * drawn up front from the seed, so every strategy meets the same leads and the same buyer moods,
 * and the oracle can replay them.
 */
import { seededRandom } from '@leadrouter/routing';

export const GEOS = ['US', 'CA', 'GB'] as const;
export type Geo = (typeof GEOS)[number];

export interface BuyerTerms {
  /** What the buyer pays per kept lead (its postbacks correct the configured payout when it changes). */
  price: number;
  /** Chance that the buyer accepts a fresh lead, by geo. */
  accept: Record<Geo, number>;
  /** Chance that an accepted lead is returned later (a `returned` postback). */
  returnRate: number;
  /** Down: answers 503 to everything. */
  down: boolean;
  /** Auction market only: what the buyer thinks a lead of each geo is worth (it bids about this, with noise). */
  value?: Record<Geo, number>;
}

export interface Buyer {
  id: string;
  /** The payout written in LeadRouter's config: what the buyer paid when the run began. */
  configuredPayout: number;
  /** A total cap in the config (sold leads over the run). */
  cap?: number;
  terms: (lead: number) => BuyerTerms;
}

export interface MarketChange {
  /** Lead index from which the change holds. */
  at: number;
  buyer: string;
  /** Which way the buyer's share of first offers should move after it (for the lead's geo when set). */
  expect: 'down' | 'up';
  geo?: Geo;
  what: string;
}

export interface Market {
  buyers: Buyer[];
  changes: MarketChange[];
  /** Each buyer that already answered for a lead multiplies the next one's chance of accepting by this. */
  freshness: number;
  /** The share of leads from each geo. */
  geoMix: Record<Geo, number>;
  /** An auction market (`--market auction`): the buyers are bidders, and each lead's bids are drawn too. */
  auction?: { bidNoise: number };
}

const everywhere = (p: number): Record<Geo, number> => ({ US: p, CA: p, GB: p });

/**
 * The scripted market, its changes placed at fixed fractions of the run (for 20,000 leads: a buyer
 * stops taking Canada at 5,000, one is down from 8,000 to 10,500, one doubles its price at 13,000).
 */
export function scriptedMarket(leads: number, freshness: number): Market {
  const at = (fraction: number): number => Math.round(leads * fraction);
  const mapleStops = at(0.25);
  const steadyDown = at(0.4);
  const steadyUp = at(0.525);
  const volumeDoubles = at(0.65);
  const fixed = (terms: Omit<BuyerTerms, 'down'>) => (): BuyerTerms => ({ ...terms, down: false });
  return {
    freshness,
    geoMix: { US: 0.5, CA: 0.3, GB: 0.2 },
    buyers: [
      // Pays the most, takes few leads, and only 1,500 of them.
      { id: 'premium', configuredPayout: 30, cap: Math.round(leads * 0.075), terms: fixed({ price: 30, accept: { US: 0.35, CA: 0.3, GB: 0.2 }, returnRate: 0.1 }) },
      // A good all-rounder, until it goes down for a while.
      {
        id: 'steady',
        configuredPayout: 14,
        terms: (n) => ({ price: 14, accept: { US: 0.8, CA: 0.75, GB: 0.7 }, returnRate: 0.05, down: n >= steadyDown && n < steadyUp }),
      },
      // Cheap and takes nearly everything; later doubles its price.
      { id: 'volume', configuredPayout: 8, terms: (n) => ({ price: n >= volumeDoubles ? 16 : 8, accept: everywhere(0.9), returnRate: 0.05, down: false }) },
      // A high payout that looks good on paper: more than half of what it takes comes back.
      { id: 'returner', configuredPayout: 20, terms: fixed({ price: 20, accept: { US: 0.85, CA: 0.85, GB: 0.8 }, returnRate: 0.6 }) },
      // The best buyer for Canada, until it stops taking Canadian leads.
      { id: 'maple', configuredPayout: 16, terms: (n) => ({ price: 16, accept: { US: 0.1, CA: n >= mapleStops ? 0.03 : 0.85, GB: 0.05 }, returnRate: 0.05, down: false }) },
      // The catch-all: takes everything, pays little.
      { id: 'bargain', configuredPayout: 4, terms: fixed({ price: 4, accept: everywhere(0.95), returnRate: 0.02 }) },
    ],
    changes: [
      { at: mapleStops, buyer: 'maple', geo: 'CA', expect: 'down', what: 'maple stops taking CA leads' },
      { at: steadyDown, buyer: 'steady', expect: 'down', what: 'steady goes down' },
      { at: steadyUp, buyer: 'steady', expect: 'up', what: 'steady is back' },
      { at: volumeDoubles, buyer: 'volume', expect: 'up', what: 'volume doubles its price (8 -> 16, in postbacks)' },
    ],
  };
}

/**
 * The auction market (issue #15): bidders with hidden values by geo that bid them with noise, and a
 * hidden chance of taking the post and keeping the lead. Two are cherry-pickers: they bid high and
 * then reject or return much of what they win. Ranked by bid they win the most auctions; what they
 * keep is worth less than a steadier bidder's lower bid.
 */
export function auctionMarket(): Market {
  const fixed = (terms: Omit<BuyerTerms, 'down'>) => (): BuyerTerms => ({ ...terms, down: false });
  const by = (us: number, ca: number, gb: number): Record<Geo, number> => ({ US: us, CA: ca, GB: gb });
  return {
    freshness: 1,
    geoMix: { US: 0.5, CA: 0.3, GB: 0.2 },
    auction: { bidNoise: 0.3 },
    buyers: [
      // Bids the most, then takes only about half its posts and returns half of those.
      { id: 'cherry', configuredPayout: 22, terms: fixed({ price: 22, value: by(24, 22, 20), accept: by(0.5, 0.5, 0.5), returnRate: 0.5 }) },
      // Takes its posts, and sends most of them back.
      { id: 'returner', configuredPayout: 18, terms: fixed({ price: 18, value: by(19, 18, 17), accept: by(0.9, 0.9, 0.9), returnRate: 0.65 }) },
      // A fair bid, kept.
      { id: 'steady', configuredPayout: 13, terms: fixed({ price: 13, value: by(14, 13, 12), accept: by(0.85, 0.8, 0.8), returnRate: 0.05 }) },
      // Pays well for Canada, little elsewhere.
      { id: 'maple', configuredPayout: 10, terms: fixed({ price: 10, value: by(6, 17, 5), accept: by(0.6, 0.9, 0.5), returnRate: 0.05 }) },
      // Takes nearly everything, for little.
      { id: 'budget', configuredPayout: 6, terms: fixed({ price: 6, value: by(6, 6, 6), accept: by(0.95, 0.95, 0.95), returnRate: 0.02 }) },
    ],
    changes: [],
  };
}

/** Lead n as the world drew it: its geo, and for each buyer the dice of accepting and of returning (and, in an auction market, of its bid's noise). */
export interface LeadDraw {
  geo: Geo;
  accept: number[];
  keep: number[];
  noise?: number[];
}

export function drawLeads(market: Market, leads: number, seed: number): LeadDraw[] {
  const random = seededRandom(seed);
  const draws: LeadDraw[] = [];
  for (let n = 0; n < leads; n++) {
    const g = random();
    const geo = g < market.geoMix.US ? 'US' : g < market.geoMix.US + market.geoMix.CA ? 'CA' : 'GB';
    const draw: LeadDraw = { geo, accept: market.buyers.map(() => random()), keep: market.buyers.map(() => random()) };
    // Drawn last, and only for an auction market: the scripted market's draws stay what they were.
    if (market.auction) draw.noise = market.buyers.map(() => random());
    draws.push(draw);
  }
  return draws;
}

/** Whether buyer `b` accepts lead n after `answeredBefore` other buyers answered for it. */
export function accepts(market: Market, draws: LeadDraw[], n: number, b: number, answeredBefore: number): boolean {
  const draw = draws[n] as LeadDraw;
  const terms = (market.buyers[b] as Buyer).terms(n);
  return (draw.accept[b] as number) < terms.accept[draw.geo] * market.freshness ** answeredBefore;
}

/** Whether buyer `b`, having accepted lead n, returns it later. */
export function returns(market: Market, draws: LeadDraw[], n: number, b: number): boolean {
  return ((draws[n] as LeadDraw).keep[b] as number) < (market.buyers[b] as Buyer).terms(n).returnRate;
}

/** Buyer `b`'s bid for lead n in an auction market: its value for the lead's geo, times 1 ± the noise, to the cent; undefined elsewhere. */
export function bidFor(market: Market, draws: LeadDraw[], n: number, b: number): number | undefined {
  const draw = draws[n] as LeadDraw;
  const value = (market.buyers[b] as Buyer).terms(n).value?.[draw.geo];
  if (!market.auction || value === undefined || !draw.noise) return undefined;
  const noise = market.auction.bidNoise;
  return Math.round(value * (1 - noise + 2 * noise * (draw.noise[b] as number)) * 100) / 100;
}
