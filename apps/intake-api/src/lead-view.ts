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
    view.sales = salesOf(record.events);
  }
  view.events = admin ? record.events : record.events.map(forSupplier);
  return view;
}

/**
 * What a supplier's view of an event leaves out: which buyers a lead went to and what they pay are
 * the business's, never the supplier's. `destination` names a buyer (attempts, the sale,
 * postbacks), `candidates` lists them, `estimates` holds each buyer's expected revenue and payout
 * (best_revenue), `payout` is money, and an auction's `bidders` and `ranking` are buyers and bids
 * (its `floor`, `rank`, `mode` and `maxSales` are the business's terms).
 */
const NOT_FOR_SUPPLIERS: ReadonlySet<string> = new Set(['destination', 'candidates', 'estimates', 'payout', 'bidders', 'ranking', 'floor', 'rank', 'mode', 'maxSales']);

function forSupplier(event: LeadRecord['events'][number]): LeadRecord['events'][number] {
  return Object.fromEntries(Object.entries(event).filter(([key]) => !NOT_FOR_SUPPLIERS.has(key))) as LeadRecord['events'][number];
}

interface SaleView {
  destination: string;
  payout: number;
  status: string;
}

/**
 * A lead's sales (the admin's `sales[]`, contract §9), read from its history, which is whole both
 * in Redis and in the ledger: each `delivered` event is a sale (one for an exclusive lead, up to
 * `maxSales` for a shared one), and the postbacks applied to it move its status and payout as the
 * postback step did (a payout sent with `returned` is not a correction).
 */
export function salesOf(events: LeadRecord['events']): SaleView[] {
  const sales = new Map<string, SaleView>();
  for (const event of events) {
    const destination = typeof event.destination === 'string' ? event.destination : undefined;
    if (destination === undefined) continue;
    if (event.type === 'delivered') {
      sales.set(destination, { destination, payout: Number(event.payout ?? 0), status: 'delivered' });
      continue;
    }
    const sale = sales.get(destination);
    if (event.type !== 'postback' || event.result !== 'applied' || !sale || typeof event.status !== 'string') continue;
    sale.status = event.status;
    if (typeof event.payout === 'number' && event.status !== 'returned') sale.payout = event.payout;
  }
  return [...sales.values()];
}
