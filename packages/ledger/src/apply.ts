import { sql, type Kysely, type Transaction } from 'kysely';
import type { LedgerAudit, LedgerChange, LedgerRejection } from '@leadrouter/redis';
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
 * 3. each lead touched takes the state of its highest-seq event, whichever batch brought it (a
 *    compacted lead's state names only what its Redis hash still has: the rest stays as it was);
 * 4. a lead with a destination has its sale row, following the lead's payout and status, with the
 *    money its changes booked and took back summed (so a repeat cannot count twice); each sale of
 *    a shared lead (contract §9: changes naming `saleDestination`) has its own row, following its
 *    latest change, with the money of its own changes;
 * 5. steps 3 and 4 run again in a second transaction once the first has committed (see below).
 *
 * Returns the leads of the batch whose whole history is now in the ledger (events 1..seq, none
 * missing, whichever writer stored them) and whose row follows the last of them, with their
 * status: what Redis may compact.
 */
export async function applyChanges(
  db: Kysely<LedgerDatabase>,
  changes: readonly LedgerChange[],
  rejections: readonly LedgerRejection[] = [],
  audit: readonly LedgerAudit[] = [],
): Promise<StoredHistory[]> {
  if (changes.length === 0 && rejections.length === 0 && audit.length === 0) return [];
  const leadIds = [...new Set(changes.map((c) => c.leadId))].sort();
  const now = new Date();
  await db.transaction().execute(async (tx) => {
    await deferRollup(tx);
    // The batch's leads locked in one order before anything else, so two writers sharing leads wait
    // for each other instead of deadlocking (PostgreSQL would abort one, and its batch retry).
    await sql`SELECT 1 FROM leads WHERE id = ANY(${leadIds}) ORDER BY id FOR NO KEY UPDATE`.execute(tx);
    if (rejections.length > 0) {
      await tx
        .insertInto('intake_rejections')
        .values(rejections.map((r) => ({ entry_id: r.entryId, at: r.at, supplier: r.supplier, reason: r.reason })))
        .onConflict((oc) => oc.column('entry_id').doNothing())
        .execute();
    }
    if (audit.length > 0) {
      await tx
        .insertInto('audit_events')
        .values(audit.map((a) => ({ entry_id: a.entryId, at: a.at, action: a.action, target: a.target || null, details: a.details })))
        .onConflict((oc) => oc.column('entry_id').doNothing())
        .execute();
    }
    if (changes.length === 0) return;
    await tx
      .insertInto('lead_events')
      .values(
        changes.map((c) => ({
          lead_id: c.leadId,
          seq: c.seq,
          at: c.event.at,
          type: c.event.type,
          body: JSON.stringify(c.event),
          state: JSON.stringify(c.state),
          booked: c.money?.booked ?? 0,
          taken_back: c.money?.takenBack ?? 0,
        })),
      )
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
    await settleLeads(tx, leadIds, now);
  });
  if (changes.length === 0) return [];
  // Again once committed: a writer whose batch had a lead's later changes while this one was still
  // inserting the lead could not see its row, and this transaction could not see those changes. Of
  // two such writers, the one that commits last sees both, here.
  return db.transaction().execute(async (tx) => {
    await deferRollup(tx);
    await sql`SELECT 1 FROM leads WHERE id = ANY(${leadIds}) ORDER BY id FOR NO KEY UPDATE`.execute(tx);
    await settleLeads(tx, leadIds, now);
    const histories = await sql<{ lead_id: string; events: string | number; top: number; status: string; last_seq: number }>`
      SELECT e.lead_id, count(*) AS events, max(e.seq) AS top, l.status, l.last_seq FROM lead_events AS e JOIN leads AS l ON l.id = e.lead_id
      WHERE e.lead_id = ANY(${leadIds}) GROUP BY e.lead_id, l.status, l.last_seq`.execute(tx);
    return histories.rows
      .filter((h) => Number(h.events) === Number(h.top) && Number(h.last_seq) === Number(h.top))
      .map((h) => ({ leadId: h.lead_id, seq: Number(h.top), status: h.status }));
  });
}

/**
 * The report rollup (migration 004) is refreshed once per transaction, for the batch's leads,
 * rather than by a trigger after each statement: less work, and its rows are locked once, in order.
 */
async function deferRollup(tx: Transaction<LedgerDatabase>): Promise<void> {
  await sql`SELECT set_config('leadrouter.rollup_deferred', 'on', true)`.execute(tx);
}

/** Each lead takes the state of its highest-seq event; each sale follows its lead, with its money summed; the rollup follows both. */
async function settleLeads(tx: Transaction<LedgerDatabase>, leadIds: readonly string[], now: Date): Promise<void> {
  await sql`
    UPDATE leads AS l SET
      status = COALESCE(e.state->>'status', l.status),
      destination = CASE WHEN e.state ? 'destination' THEN NULLIF(e.state->>'destination', '') ELSE l.destination END,
      payout = CASE WHEN e.state ? 'payout' THEN NULLIF(e.state->>'payout', '')::double precision ELSE l.payout END,
      reason = CASE WHEN e.state ? 'reason' THEN NULLIF(e.state->>'reason', '') ELSE l.reason END,
      route = CASE WHEN e.state ? 'route' THEN NULLIF(e.state->>'route', '') ELSE l.route END,
      sold_at = CASE WHEN e.state ? 'soldAt' THEN to_timestamp(NULLIF(e.state->>'soldAt', '')::double precision / 1000) ELSE l.sold_at END,
      last_seq = e.seq,
      updated_at = ${now}
    FROM (
      SELECT DISTINCT ON (lead_id) lead_id, seq, state FROM lead_events
      WHERE lead_id = ANY(${leadIds}) ORDER BY lead_id, seq DESC
    ) AS e
    WHERE l.id = e.lead_id AND l.last_seq < e.seq`.execute(tx);
  await sql`
    INSERT INTO sales (lead_id, destination, payout, status, sold_at, revenue_booked, revenue_taken_back)
    SELECT l.id, l.destination, COALESCE(l.payout, 0), l.status, COALESCE(l.sold_at, l.created_at), m.booked, m.taken_back
    FROM leads AS l JOIN (
      SELECT lead_id, sum(booked) AS booked, sum(taken_back) AS taken_back FROM lead_events
      WHERE lead_id = ANY(${leadIds}) GROUP BY lead_id
    ) AS m ON m.lead_id = l.id
    WHERE l.id = ANY(${leadIds}) AND l.destination IS NOT NULL
    ON CONFLICT (lead_id, destination) DO UPDATE SET
      payout = excluded.payout, status = excluded.status,
      revenue_booked = excluded.revenue_booked, revenue_taken_back = excluded.revenue_taken_back`.execute(tx);
  await sql`
    INSERT INTO sales (lead_id, destination, payout, status, sold_at, revenue_booked, revenue_taken_back)
    SELECT DISTINCT ON (e.lead_id, e.state->>'saleDestination')
      e.lead_id, e.state->>'saleDestination', COALESCE(NULLIF(e.state->>'salePayout', '')::double precision, 0), e.state->>'saleStatus', m.sold_at, m.booked, m.taken_back
    FROM lead_events AS e JOIN (
      SELECT lead_id, state->>'saleDestination' AS destination, min(at) AS sold_at, sum(booked) AS booked, sum(taken_back) AS taken_back FROM lead_events
      WHERE lead_id = ANY(${leadIds}) AND state ? 'saleDestination' GROUP BY 1, 2
    ) AS m ON m.lead_id = e.lead_id AND m.destination = e.state->>'saleDestination'
    WHERE e.lead_id = ANY(${leadIds}) AND e.state ? 'saleDestination'
    ORDER BY e.lead_id, e.state->>'saleDestination', e.seq DESC
    ON CONFLICT (lead_id, destination) DO UPDATE SET
      payout = excluded.payout, status = excluded.status, sold_at = excluded.sold_at,
      revenue_booked = excluded.revenue_booked, revenue_taken_back = excluded.revenue_taken_back`.execute(tx);
  await sql`SELECT report_refresh(${leadIds}::text[])`.execute(tx);
}

/** A lead whose events 1..seq are all in the ledger, and its status there. */
export interface StoredHistory {
  leadId: string;
  seq: number;
  status: string;
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
