/**
 * The lead's statuses and what each means, in one place: every other package (config schema,
 * intake, postbacks, notifications, the Lua steps) takes its lists from here.
 */

/** Every status a lead can have (contract §3). */
export const LEAD_STATUSES = ['queued', 'delivered', 'unsold', 'accepted', 'rejected', 'converted', 'returned'] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

/** The statuses a destination may report in a postback (contract §5). */
export const POSTBACK_STATUSES = ['delivered', 'accepted', 'rejected', 'converted', 'returned'] as const;
export type PostbackStatus = (typeof POSTBACK_STATUSES)[number];

/** A lead past routing: delivered, unsold, or moved on by postbacks (`?wait` answers on these). */
export const FINAL_STATUSES: ReadonlySet<LeadStatus> = new Set(['delivered', 'unsold', 'accepted', 'rejected', 'converted', 'returned']);

/** A lead that counts as sold, so its supplier is owed its `supplierPayout`. */
export const PAID_STATUSES: ReadonlySet<LeadStatus> = new Set(['delivered', 'accepted', 'converted']);

/** A sale that reaches one of these is lost: best_revenue counts it as a failure of the buyer. */
export const LOST_STATUSES: readonly PostbackStatus[] = ['rejected', 'returned'];

/** The statuses a supplier hears about when its config has no `postbackOn` (contract §6). */
export const DEFAULT_POSTBACK_ON: readonly LeadStatus[] = ['delivered', 'unsold', 'converted', 'returned'];

/**
 * The changes postbacks may make (contract §5): `delivered` → any; `accepted` → `converted`,
 * `rejected`, `returned`; `rejected` → `accepted`; `converted` → `returned`; `returned` → none.
 * The postback's Lua step receives this table, so the rule is written once.
 */
export const POSTBACK_TRANSITIONS: Readonly<Partial<Record<LeadStatus, readonly PostbackStatus[]>>> = {
  delivered: ['accepted', 'rejected', 'converted', 'returned'],
  accepted: ['converted', 'rejected', 'returned'],
  rejected: ['accepted'],
  converted: ['returned'],
};

export function isPostbackStatus(value: unknown): value is PostbackStatus {
  return (POSTBACK_STATUSES as readonly unknown[]).includes(value);
}
