import { sql, type Kysely } from 'kysely';
import type { LedgerDatabase } from './schema.js';

/** Rows one statement touches at most: a retention pass never holds long locks on a busy ledger. */
const BATCH = 5_000;
const DAY_MS = 86_400_000;

/**
 * The ledger's retention (contract §10): leads older than `retentionDays` go, with their events
 * and sales; leads older than `piiDays` lose their contact data (name, phone, email, click id,
 * ip), keeping the digests that search and dedupe use. Idempotent, in bounded batches, safe to run
 * from several writers at once. Returns how many leads it removed and how many it anonymised.
 */
export async function applyRetention(db: Kysely<LedgerDatabase>, policy: { retentionDays: number; piiDays: number }, now = new Date()): Promise<{ removed: number; anonymised: number }> {
  const removeBefore = new Date(now.getTime() - policy.retentionDays * DAY_MS);
  const anonymiseBefore = new Date(now.getTime() - policy.piiDays * DAY_MS);
  let removed = 0;
  for (;;) {
    const ids = (await db.selectFrom('leads').select('id').where('created_at', '<', removeBefore).limit(BATCH).execute()).map((r) => r.id);
    if (ids.length === 0) break;
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('lead_events').where('lead_id', 'in', ids).execute();
      await tx.deleteFrom('sales').where('lead_id', 'in', ids).execute();
      await tx.deleteFrom('leads').where('id', 'in', ids).execute();
    });
    removed += ids.length;
  }
  let anonymised = 0;
  for (;;) {
    const result = await sql`
      UPDATE leads SET name = NULL, phone = NULL, phone_national = NULL, email = NULL, click_id = NULL, ip = NULL
      WHERE id IN (
        SELECT id FROM leads WHERE created_at < ${anonymiseBefore}
        AND (name IS NOT NULL OR phone IS NOT NULL OR phone_national IS NOT NULL OR email IS NOT NULL OR click_id IS NOT NULL OR ip IS NOT NULL)
        LIMIT ${BATCH}
      )`.execute(db);
    const changed = Number(result.numAffectedRows ?? 0);
    anonymised += changed;
    if (changed < BATCH) break;
  }
  return { removed, anonymised };
}
