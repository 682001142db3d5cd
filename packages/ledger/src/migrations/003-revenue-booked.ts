import { sql, type Kysely } from 'kysely';

/**
 * Money as the revenue counters of contract §7 book it: each change carries what it booked (a
 * sale, an upward correction) and took back (a return, a downward correction), and each sale sums
 * them. A report's `revenue` and `revenueReturned` then agree with `leadrouter_revenue_total` and
 * `leadrouter_revenue_returned_total` each, not only in their difference. Sales stored before this
 * migration are taken as booked at their payout and, when returned, taken back whole (on their
 * `delivered` event, which the sums are made of).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('lead_events').addColumn('booked', sql`double precision`, (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('lead_events').addColumn('taken_back', sql`double precision`, (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('sales').addColumn('revenue_booked', sql`double precision`, (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('sales').addColumn('revenue_taken_back', sql`double precision`, (c) => c.notNull().defaultTo(0)).execute();
  // On the events, since each sale's sums are recomputed from its events by every later change.
  await sql`
    UPDATE lead_events AS e SET booked = s.payout, taken_back = CASE WHEN s.status = 'returned' THEN s.payout ELSE 0 END
    FROM sales AS s WHERE e.lead_id = s.lead_id AND e.type = 'delivered'`.execute(db);
  await sql`UPDATE sales SET revenue_booked = payout, revenue_taken_back = CASE WHEN status = 'returned' THEN payout ELSE 0 END`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sales').dropColumn('revenue_taken_back').dropColumn('revenue_booked').execute();
  await db.schema.alterTable('lead_events').dropColumn('taken_back').dropColumn('booked').execute();
}
