import type { SupplierConfig } from './schema.js';

/** What a supplier is owed per sale (contract §9): a fixed amount per sold lead, or a share of each sale's revenue. */
export type SupplierPayoutTerms = { fixed: number } | { share: number };

export function supplierPayoutTerms(supplier: Pick<SupplierConfig, 'supplierPayout'>): SupplierPayoutTerms | undefined {
  const terms = supplier.supplierPayout;
  if (terms === undefined) return undefined;
  return typeof terms === 'number' ? { fixed: terms } : { share: terms.share };
}

/** The terms of every supplier that has some, by id: what the reports need. */
export function supplierPayoutsOf(suppliers: ReadonlyArray<Pick<SupplierConfig, 'id' | 'supplierPayout'>>): Record<string, SupplierPayoutTerms> {
  const out: Record<string, SupplierPayoutTerms> = {};
  for (const s of suppliers) {
    const terms = supplierPayoutTerms(s);
    if (terms) out[s.id] = terms;
  }
  return out;
}

/** What the supplier is paid for a sale of `revenue` (to the cent). */
export function supplierOwed(terms: SupplierPayoutTerms, revenue: number): number {
  return 'fixed' in terms ? terms.fixed : Math.round(terms.share * revenue * 100) / 100;
}
