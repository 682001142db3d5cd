import { LEAD_BUCKETS, leadBucket } from './slots.js';

/**
 * The ledger's change stream (contract §10): every change of a lead is appended, in the same Lua
 * step that makes it, to one of LEDGER_BUCKETS Redis Streams, chosen by the lead's id. Ledger
 * writers read them with one consumer group. Splitting by lead bucket keeps each lead's changes in
 * one stream (in order) and in the lead's slot, so the steps append to it on a Redis Cluster too.
 */
export const LEDGER_BUCKETS = LEAD_BUCKETS;
/** The consumer group of every ledger writer. */
export const LEDGER_GROUP = 'ledger';

/** The ledger stream of a lead: its lead bucket's, in the lead's own slot (slots.ts). */
export function ledgerBucket(leadId: string): number {
  return leadBucket(leadId);
}

/** A change as the Lua steps append it: the lead, the event's position in its history, the event, and the lead's state after it. */
export interface LedgerChange {
  /** The stream entry id (`<ms>-<n>`): when the change was made, by Redis's clock. */
  entryId: string;
  leadId: string;
  /** The event's 1-based position in the lead's history: applying it twice stores it once. */
  seq: number;
  event: Record<string, unknown> & { type: string; at: string };
  state: LedgerLeadState;
  /** Only on the `received` change: the lead itself. */
  record?: LedgerLeadRecord;
  /** Only on a change that moves money (a sale, a postback): what the revenue counters booked and took back for it. */
  money?: { booked: number; takenBack: number };
}

/** The lead's state after a change: every field ('' for none), or, for a compacted lead, only those its hash still has. */
export interface LedgerLeadState {
  status?: string;
  destination?: string;
  payout?: string;
  reason?: string;
  route?: string;
  soldAt?: string;
  round?: string;
  /** A change of one sale of a shared lead (contract §9): that sale's buyer, status and payout after it. */
  saleDestination?: string;
  saleStatus?: string;
  salePayout?: string;
}

export interface LedgerLeadRecord {
  supplier: string;
  createdAt: string;
  quality: string;
  phoneNational: string;
  source: string;
  geo: string;
  /** The lead's fields as sent (JSON text): name, phone, email, click_id, ip, fields. */
  data: string;
  /** SHA-256 digests of the E.164 phone and the lower-cased email: what search matches on. */
  phoneDigest: string;
  emailDigest: string;
}

/** Parses one stream entry's field list (`[name, value, name, value, ...]`); undefined when it is not one of ours. */
export function parseLedgerEntry(entryId: string, fields: readonly string[]): LedgerChange | undefined {
  const map = fieldMap(fields);
  const leadId = map.get('lead');
  const seq = Number(map.get('seq'));
  const event = map.get('event');
  const state = map.get('state');
  if (!leadId || !Number.isInteger(seq) || !event || !state) return undefined;
  try {
    const record = map.get('record');
    const booked = Number(map.get('booked') ?? 0);
    const takenBack = Number(map.get('takenBack') ?? 0);
    if (!Number.isFinite(booked) || !Number.isFinite(takenBack)) return undefined;
    const parsedEvent = JSON.parse(event) as LedgerChange['event'];
    const parsedState = JSON.parse(state) as LedgerLeadState;
    return {
      entryId,
      leadId,
      seq,
      event: parsedEvent,
      state: parsedState,
      ...(record ? { record: JSON.parse(record) as LedgerLeadRecord } : {}),
      ...(map.has('booked') ? { money: { booked, takenBack } } : olderMoney(parsedEvent, parsedState)),
    };
  } catch {
    return undefined;
  }
}

/**
 * The money of a change appended by an older LeadRouter (before changes carried it; a rolling
 * deploy, or a backlog from before the upgrade): a sale books its payout, a return takes it back.
 * A payout correction of that time cannot be told apart from its state, and counts as none.
 */
function olderMoney(event: LedgerChange['event'], state: LedgerLeadState): { money?: { booked: number; takenBack: number } } {
  const payout = Number(state.payout ?? 0) || 0;
  if (event.type === 'delivered') return { money: { booked: payout, takenBack: 0 } };
  if (event.type === 'postback' && event.status === 'returned' && event.result === 'applied') return { money: { booked: 0, takenBack: payout } };
  return {};
}

/** An intake rejection (contract §10's `rejected` in reports): who, why, when. */
export interface LedgerRejection {
  entryId: string;
  supplier: string;
  reason: string;
  at: string;
}

/** At most this many rejections wait for the ledger (approximately): a flood of 429s cannot fill Redis. */
export const REJECTIONS_MAX_BACKLOG = 1_000_000;

export function parseRejectionEntry(entryId: string, fields: readonly string[]): LedgerRejection | undefined {
  const map = fieldMap(fields);
  const supplier = map.get('supplier');
  const reason = map.get('reason');
  const at = map.get('at');
  return supplier && reason && at ? { entryId, supplier, reason, at } : undefined;
}

/** An operator's change (contract §11's audit events): what, to what, when, and its details as JSON text. */
export interface LedgerAudit {
  entryId: string;
  action: string;
  target: string;
  details: string;
  at: string;
}

export function parseAuditEntry(entryId: string, fields: readonly string[]): LedgerAudit | undefined {
  const map = fieldMap(fields);
  const action = map.get('action');
  const at = map.get('at');
  const details = map.get('details') ?? '{}';
  if (!action || !at || Number.isNaN(Date.parse(at))) return undefined;
  try {
    JSON.parse(details);
  } catch {
    return undefined;
  }
  return { entryId, action, target: map.get('target') ?? '', details, at };
}

/** A stream entry's `[name, value, name, value, ...]` as a map. */
function fieldMap(fields: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
  return map;
}

/** The ms timestamp of a stream entry id. */
export function entryTimeMs(entryId: string): number {
  return Number(entryId.split('-')[0]);
}
