import { DEFAULT_POSTBACK_ON, encodeUrlValue, PAID_STATUSES, type LeadStatus } from '@leadrouter/lead';
import { supplierOwed, supplierPayoutTerms, type SupplierConfig } from '@leadrouter/config';


export function wantsNotification(supplier: SupplierConfig, status: string): boolean {
  return supplier.postbackUrl !== undefined && (supplier.postbackOn ?? DEFAULT_POSTBACK_ON).includes(status as LeadStatus);
}

export interface NotifiedLead {
  id: string;
  click_id?: string | undefined;
  source: string;
  geo: string;
  /** What the sale booked (for a supplier paid a share of it). */
  payout?: number | undefined;
}

/**
 * The supplier's `postbackUrl` with its macros filled, each value URL-encoded: `{lead_id}`,
 * `{click_id}`, `{status}` (renamed through `postbackStatusMap`), `{payout}` (the supplier's
 * `supplierPayout` while the lead counts as sold: its fixed amount, or its share of what the sale
 * booked; 0 otherwise; empty without one), `{source}`, `{geo}`.
 */
export function notificationUrl(supplier: SupplierConfig, lead: NotifiedLead, status: string): string {
  const map = (supplier.postbackStatusMap ?? {}) as Record<string, string | undefined>;
  const terms = supplierPayoutTerms(supplier);
  const payout = terms === undefined ? '' : String(PAID_STATUSES.has(status as LeadStatus) ? supplierOwed(terms, lead.payout ?? 0) : 0);
  const values: Record<string, string> = {
    lead_id: lead.id,
    click_id: lead.click_id ?? '',
    status: map[status] ?? status,
    payout,
    source: lead.source,
    geo: lead.geo,
  };
  return (supplier.postbackUrl ?? '').replace(/\{(lead_id|click_id|status|payout|source|geo)\}/g, (_m, name: string) =>
    encodeUrlValue(values[name] ?? ''),
  );
}
