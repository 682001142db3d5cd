import type { ColumnType, Generated } from 'kysely';

/**
 * The lead ledger's tables (contract §10): the system of record, fed from the Redis change stream.
 * Kysely checks every query against these types; the migrations under migrations/ create them.
 */
export interface LeadsTable {
  id: string;
  supplier: string;
  source: string;
  geo: string;
  status: string;
  reason: string | null;
  /** The destination that bought it (exclusive sales; each sale of a shared lead is in `sales`). */
  destination: string | null;
  payout: number | null;
  route: string | null;
  quality: number;
  created_at: ColumnType<Date, Date | string, Date | string>;
  sold_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  /** Contact data, removed after `ledger.piiDays`; the digests stay for search and dedupe. */
  name: string | null;
  phone: string | null;
  phone_national: string | null;
  email: string | null;
  click_id: string | null;
  ip: string | null;
  fields: ColumnType<Record<string, unknown>, string, string>;
  phone_digest: string;
  email_digest: string | null;
  /** The highest change (`seq`) applied: an older change never overwrites a newer state. */
  last_seq: number;
  updated_at: ColumnType<Date, Date | string, Date | string>;
}

export interface LeadEventsTable {
  lead_id: string;
  /** The event's 1-based position in the lead's history. */
  seq: number;
  at: ColumnType<Date, Date | string, Date | string>;
  type: string;
  body: ColumnType<Record<string, unknown>, string, string>;
  /** The lead's state right after this change: the lead row follows its latest change, whatever order changes arrive in. */
  state: ColumnType<Record<string, string>, string, string>;
  /** Revenue this change booked (a sale, an upward correction) and took back (a return, a downward correction). */
  booked: ColumnType<number, number | undefined, number>;
  taken_back: ColumnType<number, number | undefined, number>;
}

/** One row per sale (a shared lead has several): its own status and payout, moved by postbacks. */
export interface SalesTable {
  lead_id: string;
  destination: string;
  payout: number;
  status: string;
  sold_at: ColumnType<Date, Date | string, Date | string>;
  /** Sums of its changes' `booked` and `taken_back`: net revenue is their difference. */
  revenue_booked: ColumnType<number, number | undefined, number>;
  revenue_taken_back: ColumnType<number, number | undefined, number>;
}

/** What operators changed and when (contract §11): pauses, cap overrides, reloads. */
export interface AuditEventsTable {
  id: Generated<number>;
  at: ColumnType<Date, Date | string, Date | string>;
  action: string;
  target: string | null;
  details: ColumnType<Record<string, unknown>, string, string>;
  /** The Redis stream entry it came from (migration 005): a repeat is stored once. */
  entry_id: string | null;
}

/** Leads refused at intake (reports' `rejected`). */
export interface IntakeRejectionsTable {
  entry_id: string;
  at: ColumnType<Date, Date | string, Date | string>;
  supplier: string;
  reason: string;
}

export interface LedgerDatabase {
  intake_rejections: IntakeRejectionsTable;
  leads: LeadsTable;
  lead_events: LeadEventsTable;
  sales: SalesTable;
  audit_events: AuditEventsTable;
}
