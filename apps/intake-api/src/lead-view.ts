import { maskEmail, maskPhone } from '@leadrouter/lead';
import type { LeadRecord } from '@leadrouter/store';

/**
 * `GET /v1/leads/:id` body. Phone and email are masked for everyone; `destination` and `payout`
 * are shown to the admin only (contract §3), and so are the buyers and money inside the events.
 */
export function leadView(record: LeadRecord, admin: boolean): Record<string, unknown> {
  const { lead } = record;
  const view: Record<string, unknown> = {
    id: lead.id,
    status: record.status,
    ...(record.reason ? { reason: record.reason } : {}),
    quality: lead.quality,
    createdAt: new Date(lead.createdAt).toISOString(),
    supplier: lead.supplier,
    name: lead.name,
    phone: maskPhone(lead.phone),
    ...(lead.email ? { email: maskEmail(lead.email) } : {}),
    geo: lead.geo,
    source: lead.source,
    ...(lead.click_id ? { click_id: lead.click_id } : {}),
    ...(lead.ip ? { ip: lead.ip } : {}),
    fields: lead.fields,
  };
  if (admin) {
    view.destination = record.destination ?? null;
    view.payout = record.payout ?? null;
  }
  view.events = admin ? record.events : record.events.map(forSupplier);
  return view;
}

/**
 * What a supplier's view of an event leaves out: which buyers a lead went to and what they pay are
 * the business's, never the supplier's. `destination` names a buyer (attempts, the sale,
 * postbacks), `candidates` lists them, `estimates` holds each buyer's expected revenue and payout
 * (best_revenue), `payout` is money, and an auction's `bidders` and `ranking` are buyers and bids
 * (its `floor` and `rank` are the business's terms).
 */
const NOT_FOR_SUPPLIERS: ReadonlySet<string> = new Set(['destination', 'candidates', 'estimates', 'payout', 'bidders', 'ranking', 'floor', 'rank']);

function forSupplier(event: LeadRecord['events'][number]): LeadRecord['events'][number] {
  return Object.fromEntries(Object.entries(event).filter(([key]) => !NOT_FOR_SUPPLIERS.has(key))) as LeadRecord['events'][number];
}
