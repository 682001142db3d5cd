import type { ResolvedAuction, ResolvedPing } from '@leadrouter/config';
import { lazyJson, readPath, ruleHolds, type Reply } from './classify-reply.js';

/** A bidder's answer to a ping, as the auction event shows it (contract §9). */
export type PingOutcome = 'bid' | 'no_bid' | 'below_floor' | 'timeout' | 'error';

export interface PingAnswer {
  outcome: 'bid' | 'no_bid' | 'error';
  bid?: number;
  /** The buyer's own ping id (`response.reference`), for `{{ping_reference}}` in the post. */
  reference?: string;
  error?: string;
}

/** Bids are money: at most a million per lead, to the cent. */
const MAX_BID = 1_000_000;

/**
 * Reads one ping reply. `response.accept` (default: a 2xx) must hold and `response.bid.path` must
 * name a positive number (or numeric text) for a bid; a reply that parses but says no is `no_bid`;
 * a reply that is not JSON, a 3xx or 5xx is an `error`. The reply is the bidder's: nothing in it is
 * trusted beyond a finite number and a short reference of printable characters.
 */
export function readPingReply(ping: ResolvedPing, reply: Reply): PingAnswer {
  const body = lazyJson(reply);
  const accept = ping.response.accept;
  const covered = accept?.status ? accept.status.includes(reply.status) : reply.status >= 200 && reply.status < 300;
  if (!covered) return reply.status >= 400 && reply.status < 500 && reply.status !== 408 && reply.status !== 429 ? { outcome: 'no_bid' } : { outcome: 'error', error: `HTTP ${reply.status}` };
  const { parsed: ok, value } = body();
  if (!ok) return { outcome: 'error', error: `HTTP ${reply.status}: the reply is not JSON` };
  if (accept && !ruleHolds(accept, body)) return { outcome: 'no_bid' };
  const raw = readPath(value, ping.response.bid.path);
  const given = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
  if (Number.isFinite(given) && given > MAX_BID) return { outcome: 'error', error: `bid ${given} above ${MAX_BID}` };
  // To the cent first: a bid that rounds to 0 is no bid (contract §9: above 0).
  const bid = Math.round(given * 100) / 100;
  if (!Number.isFinite(bid) || bid <= 0) return { outcome: 'no_bid' };
  const answer: PingAnswer = { outcome: 'bid', bid };
  if (ping.response.reference) {
    const ref = readPath(value, ping.response.reference.path);
    // A short token of printable characters without spaces: it goes into the post's URL, headers or body.
    if ((typeof ref === 'string' || typeof ref === 'number') && /^[\x21-\x7e]{1,256}$/.test(String(ref))) answer.reference = String(ref);
  }
  return answer;
}

/** One bidder's part in the auction: how its ping went. */
export interface BidderResult {
  destination: string;
  outcome: PingOutcome;
  bid?: number;
  durationMs: number;
  error?: string;
}

export interface RankedBid {
  destination: string;
  bid: number;
  /** What the ranking sorted on: the bid, or bid × the learnt chance the bidder takes and keeps the lead. */
  value: number;
  reference?: string;
}

/**
 * The auction's ranking (contract §9), pure: bids under the floor are out (`below_floor`), the
 * others sorted by `rank` (`bid`, or `expected`: bid × acceptance), ties by the higher bid, then by
 * the route's order. `acceptance` is each bidder's learnt chance of taking the post and keeping
 * the lead (what best_revenue learns); one with no entry counts as 0.5, the prior of no evidence.
 */
export function rankBids(
  answers: ReadonlyArray<{ destination: string; answer: PingAnswer | 'timeout'; durationMs: number }>,
  auction: Pick<ResolvedAuction, 'floor' | 'rank'>,
  acceptance: ReadonlyMap<string, number>,
): { bidders: BidderResult[]; ranking: RankedBid[] } {
  const bidders: BidderResult[] = [];
  const ranked: Array<RankedBid & { order: number }> = [];
  answers.forEach(({ destination, answer, durationMs }, order) => {
    if (answer === 'timeout') {
      bidders.push({ destination, outcome: 'timeout', durationMs });
      return;
    }
    if (answer.outcome !== 'bid' || answer.bid === undefined) {
      bidders.push({ destination, outcome: answer.outcome === 'bid' ? 'no_bid' : answer.outcome, durationMs, ...(answer.error ? { error: answer.error } : {}) });
      return;
    }
    const { bid } = answer;
    const below = bid < auction.floor;
    bidders.push({ destination, outcome: below ? 'below_floor' : 'bid', bid, durationMs });
    if (below) return;
    const value = auction.rank === 'expected' ? bid * (acceptance.get(destination) ?? 0.5) : bid;
    ranked.push({ destination, bid, value: Math.round(value * 10_000) / 10_000, order, ...(answer.reference ? { reference: answer.reference } : {}) });
  });
  ranked.sort((a, b) => b.value - a.value || b.bid - a.bid || a.order - b.order);
  return { bidders, ranking: ranked.map(({ order: _order, ...bid }) => bid) };
}
