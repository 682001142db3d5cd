import { sql, type Kysely } from 'kysely';
import { maskEmail, maskPhone } from '@leadrouter/lead';
import { filtered, keysetAfter, type LeadCursor, type LeadFilters } from './queries.js';
import type { LedgerDatabase } from './schema.js';

/** The CSV export's columns (contract §10): buyers and money for the admin only. */
export function exportColumns(admin: boolean): string[] {
  return ['id', 'createdAt', 'supplier', 'source', 'geo', 'status', 'reason', 'quality', 'name', 'phone', 'email', 'click_id', ...(admin ? ['destination', 'payout', 'route'] : [])];
}

/**
 * One page of the export as CSV rows, newest first, after `cursor`: only the exported columns, the
 * time already formatted by PostgreSQL, so a row costs no Date and no JSON parse (the export's
 * cost at a million leads was pg building objects it did not need). Contact data masked unless
 * `pii`. Values are as GET /v1/leads shows them; an absent one is ''.
 */
export async function exportPage(
  db: Kysely<LedgerDatabase>,
  filters: LeadFilters,
  page: { limit: number; cursor?: LeadCursor },
  view: { admin: boolean; pii: boolean },
): Promise<{ rows: string[][]; next: LeadCursor | undefined }> {
  let q = filtered(
    db
      .selectFrom('leads')
      .select(['id', 'supplier', 'source', 'geo', 'status', 'reason', 'quality', 'name', 'phone', 'email', 'click_id', 'destination', 'payout', 'route'])
      .select([
        sql<string>`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as('created_iso'),
        sql<string>`(extract(epoch FROM created_at) * 1000)::bigint::text`.as('created_ms'),
      ]),
    filters,
  );
  if (page.cursor) q = keysetAfter(q, page.cursor);
  const found = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
  const text = (v: string | number | null): string => (v === null ? '' : String(v));
  const rows = found.map((r) => {
    const row = [
      r.id,
      r.created_iso,
      r.supplier,
      r.source,
      r.geo,
      r.status,
      text(r.reason),
      String(r.quality),
      text(r.name),
      r.phone === null ? '' : view.pii ? r.phone : maskPhone(r.phone),
      r.email === null ? '' : view.pii ? r.email : maskEmail(r.email),
      text(r.click_id),
    ];
    if (view.admin) row.push(text(r.destination), text(r.payout), text(r.route));
    return row;
  });
  const last = found[found.length - 1];
  return { rows, next: found.length === page.limit && last ? { createdAt: new Date(Number(last.created_ms)), id: last.id } : undefined };
}
