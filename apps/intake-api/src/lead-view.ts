import { maskEmail, maskPhone } from '@leadrouter/lead';
import type { LeadRecord } from '@leadrouter/store';

/**
 * `GET /v1/leads/:id` body. Phone and email are masked for everyone; `destination` and `payout`
 * are shown to the admin only (contract §3).
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
 * Money and the buyer that took the lead are the admin's to see: a supplier's view of the events
 * drops `payout` everywhere and the destination of the `delivered` event. Tries keep their
 * destination, as the contract lists it for every `attempt`.
 */
function forSupplier(event: LeadRecord['events'][number]): LeadRecord['events'][number] {
  if (!('payout' in event) && event.type !== 'delivered') return event;
  const { payout: _payout, ...rest } = event;
  if (event.type === 'delivered') delete rest.destination;
  return rest as LeadRecord['events'][number];
}
