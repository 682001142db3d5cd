import type { Lead, LeadStatus } from '@leadrouter/lead';

/** A route's ordered candidates, fixed once per lead so a re-run never takes a different path. */
export interface DeliveryPlan {
  route: string;
  candidates: string[];
  /** The routing round (0, then +1 per admin redelivery): part of every delivery job id. */
  round?: number;
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
  /** Decisions recorded after each step of the delivery chain (`start`, `2.0`, ...): `d:<index>`, `retry`, `unsold`. */
  decisions: Record<string, string>;
}

type LeadInputJson = Omit<Lead, 'id' | 'supplier' | 'createdAt' | 'quality' | 'phoneNational'>;

/** Undefined when the lead does not exist (never stored, or expired after its retention). */
export function readStoredLead(id: string, hash: Record<string, string> | undefined, data: string | null | undefined): StoredLead | undefined {
  if (!hash || !data || !hash.status) return undefined;
  const stored: StoredLead = {
    lead: {
      ...(JSON.parse(data) as LeadInputJson),
      id,
      supplier: hash.supplier ?? '',
      createdAt: Number(hash.createdAt),
      quality: Number(hash.quality),
      phoneNational: hash.phoneNational ?? '',
    },
    status: hash.status as LeadStatus,
    attempts: Number(hash.attempts ?? 0),
    round: Number(hash.round ?? 0),
    decisions: {},
  };
  for (const [field, value] of Object.entries(hash)) if (field.startsWith('next:')) stored.decisions[field.slice(5)] = value;
  if (hash.reason) stored.reason = hash.reason;
  if (hash.destination) stored.destination = hash.destination;
  if (hash.payout) stored.payout = Number(hash.payout);
  if (hash.plan) stored.plan = JSON.parse(hash.plan) as DeliveryPlan;
  return stored;
}
