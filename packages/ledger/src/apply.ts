import { sql, type Kysely } from 'kysely';
import type { LedgerChange, LedgerRejection } from '@leadrouter/redis';
import type { LedgerDatabase } from './schema.js';

/** The lead's own fields as the intake stored them (its `data`). */
interface StoredLeadData {
  name?: string;
  phone?: string;
  email?: string;
  click_id?: string;
  ip?: string;
  fields?: Record<string, unknown>;
}

/**
 * Applies a batch of changes in one transaction. Idempotent and order-free, so a crashed writer
 * that re-reads its batch, or two writers sharing a bucket, store each change once and end in the
 * same rows:
 * 1. each change is an event row keyed by (lead, seq): a repeat is ignored;
 * 2. a `received` change inserts the lead (once);
 * 3. each lead touched takes the state of its highest-seq event, whichever batch brought it;
 * 4. a lead with a destination has its sale row, following the lead's payout and status.
 */
export async function applyChanges(db: Kysely<LedgerDatabase>, changes: readonly LedgerChange[], rejections: readonly LedgerRejection[] = []): Promise<void> {
  if (changes.length === 0 && rejections.length === 0) return;
  const leadIds = [...new Set(changes.map((c) => c.leadId))];
  const now = new Date();
  await db.transaction().execute(async (tx) => {
    if (rejections.length > 0) {
      await tx
        .insertInto('intake_rejections')
        .values(rejections.map((r) => ({ entry_id: r.entryId, at: r.at, supplier: r.supplier, reason: r.reason })))
        .onConflict((oc) => oc.column('entry_id').doNothing())
        .execute();
    }
    if (changes.length === 0) return;
    await tx
      .insertInto('lead_events')
      .values(changes.map((c) => ({ lead_id: c.leadId, seq: c.seq, at: c.event.at, type: c.event.type, body: JSON.stringify(c.event), state: JSON.stringify(c.state) })))
      .onConflict((oc) => oc.columns(['lead_id', 'seq']).doNothing())
      .execute();
    const received = changes.filter((c) => c.record !== undefined);
    if (received.length > 0) {
      await tx
        .insertInto('leads')
        .values(received.map((c) => leadRow(c, now)))
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
    await sql`
      UPDATE leads AS l SET
        status = e.state->>'status',
        destination = NULLIF(e.state->>'destination', ''),
        payout = NULLIF(e.state->>'payout', '')::double precision,
        reason = NULLIF(e.state->>'reason', ''),
        route = NULLIF(e.state->>'route', ''),
        sold_at = to_timestamp(NULLIF(e.state->>'soldAt', '')::double precision / 1000),
        last_seq = e.seq,
        updated_at = ${now}
      FROM (
        SELECT DISTINCT ON (lead_id) lead_id, seq, state FROM lead_events
        WHERE lead_id = ANY(${leadIds}) ORDER BY lead_id, seq DESC
      ) AS e
      WHERE l.id = e.lead_id AND l.last_seq < e.seq`.execute(tx);
    await sql`
      INSERT INTO sales (lead_id, destination, payout, status, sold_at)
      SELECT id, destination, COALESCE(payout, 0), status, COALESCE(sold_at, created_at) FROM leads
      WHERE id = ANY(${leadIds}) AND destination IS NOT NULL
      ON CONFLICT (lead_id, destination) DO UPDATE SET payout = excluded.payout, status = excluded.status`.execute(tx);
  });
}

function leadRow(change: LedgerChange, now: Date) {
  const record = change.record as NonNullable<LedgerChange['record']>;
  const data = JSON.parse(record.data) as StoredLeadData;
  return {
    id: change.leadId,
    supplier: record.supplier,
    source: record.source,
    geo: record.geo,
    status: change.state.status || 'queued',
    reason: null,
    destination: null,
    payout: null,
    route: null,
    quality: Number(record.quality),
    created_at: new Date(Number(record.createdAt)),
    sold_at: null,
    name: data.name ?? null,
    phone: data.phone ?? null,
    phone_national: record.phoneNational || null,
    email: data.email ?? null,
    click_id: data.click_id ?? null,
    ip: data.ip ?? null,
    fields: JSON.stringify(data.fields ?? {}),
    phone_digest: record.phoneDigest,
    email_digest: record.emailDigest || null,
    last_seq: 0,
    updated_at: now,
  };
}
