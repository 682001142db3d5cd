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
  view.events = record.events;
  return view;
}
