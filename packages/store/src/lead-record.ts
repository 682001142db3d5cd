import type { Lead, LeadStatus } from '@leadrouter/lead';
import { LEAD_HASH as F, readSales, stepOfField } from '@leadrouter/redis';

/** A route's ordered candidates, fixed once per lead so a re-run never takes a different path. */
export interface DeliveryPlan {
  route: string;
  candidates: string[];
  /** The routing round (0, then +1 per admin redelivery): part of every delivery job id. */
  round: number;
  /** An auction's winning bids by bidder (contract §9): the sale's revenue, and `{{bid}}`, `{{ping_reference}}` in the post. */
  bids?: Record<string, { bid: number; reference?: string }>;
  /**
   * A shared auction's lanes (contract §9, `maxSales`): that many tries run at once, each down the
   * ranking from the best candidate no other lane took, each lane ending in one sale or none.
   */
  lanes?: number;
}

/** A lead as read back from Redis: its fields (data key) and its state (hash). */
export interface StoredLead {
  lead: Lead;
  status: LeadStatus;
  reason?: string;
  destination?: string;
  payout?: number;
  plan?: DeliveryPlan;
  /** HTTP tries made so far, at any destination. */
  attempts: number;
  round: number;
  /** Decisions recorded after each step of the delivery chain (`start`, `2.0`, ...), as stored: see `parseDecision`. */
  decisions: Record<string, string>;
  /** A shared lead's sales by buyer (an exclusive lead's one sale is `destination` and `payout`). */
  sales: Record<string, { status: string; payout: number }>;
  /** A shared lead's lanes still delivering (0 for an exclusive lead). */
  openLanes: number;
}

type LeadInputJson = Omit<Lead, 'id' | 'supplier' | 'createdAt' | 'quality' | 'phoneNational'>;

/** Undefined when the lead does not exist (never stored, or expired after its retention). */
export function readStoredLead(id: string, hash: Record<string, string> | undefined, data: string | null | undefined): StoredLead | undefined {
  if (!hash || !data || !hash[F.status]) return undefined;
  const stored: StoredLead = {
    lead: {
      ...(JSON.parse(data) as LeadInputJson),
      id,
      supplier: hash[F.supplier] ?? '',
      createdAt: Number(hash[F.createdAt]),
      quality: Number(hash[F.quality]),
      phoneNational: hash[F.phoneNational] ?? '',
    },
    status: hash[F.status] as LeadStatus,
    attempts: Number(hash[F.attempts] ?? 0),
    round: Number(hash[F.round] ?? 0),
    decisions: {},
    sales: readSales(hash),
    openLanes: Number(hash[F.lanes] ?? 0),
  };
  for (const [field, value] of Object.entries(hash)) {
    const step = stepOfField(field);
    if (step !== undefined) stored.decisions[step] = value;
  }
  if (hash[F.reason]) stored.reason = hash[F.reason];
  if (hash[F.destination]) stored.destination = hash[F.destination];
  if (hash[F.payout]) stored.payout = Number(hash[F.payout]);
  if (hash[F.plan]) {
    // Plans stored before rounds existed have none: they are of round 0.
    const plan = JSON.parse(hash[F.plan] as string) as Omit<DeliveryPlan, 'round'> & { round?: number };
    stored.plan = { ...plan, round: plan.round ?? 0 };
  }
  return stored;
}

/**
 * Whether tries of the lead may still run: it is `queued`, or it is a shared lead already sold once
 * whose other lanes still run (it is `delivered` from its first sale on, contract §9).
 */
export function stillDelivering(stored: StoredLead): boolean {
  return isDelivering(stored.status, stored.openLanes);
}

/** stillDelivering from the two fields it reads (postback.lua and compact-lead.lua ask the same of the hash). */
export function isDelivering(status: string | null, openLanes: number): boolean {
  return status === 'queued' || (status === 'delivered' && openLanes > 0);
}

/** Whether the lead was sold to this destination (its one sale, or one of a shared lead's). */
export function soldTo(stored: StoredLead, destination: string): boolean {
  return stored.destination === destination || stored.sales[destination] !== undefined;
}
