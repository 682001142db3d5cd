import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import { maskEmail, maskPhone } from '@leadrouter/lead';
import { freshDatabase, type FreshDatabase } from '@leadrouter/testing';
import { exportColumns, exportPage, migrateLedger, openLedger, searchLeads, type LeadCursor, type Ledger } from '../src/index.js';

/** The CSV export's pages (contract §10): every matching lead once, newest first, across pages and ties of time, with the values search shows. */
describe('the export on PostgreSQL', () => {
  let db: FreshDatabase;
  let ledger: Ledger;
  beforeAll(async () => {
    db = await freshDatabase();
    ledger = await openLedger({ databaseUrl: db.url });
    await migrateLedger(ledger.db);
    // 2,500 leads, ten to a millisecond (ties the keyset must break by id), a third sold, some with email.
    await sql`
      INSERT INTO leads (id, supplier, source, geo, status, reason, destination, payout, route, quality, created_at, sold_at, name, phone, phone_national, email, click_id, ip, fields, phone_digest, email_digest, last_seq, updated_at)
      SELECT 'L' || lpad(n::text, 8, '0'), 'acme', CASE WHEN n % 2 = 0 THEN 'Facebook' ELSE 'Google' END, 'US',
             CASE WHEN n % 3 = 0 THEN 'delivered' ELSE 'unsold' END, CASE WHEN n % 3 = 0 THEN NULL ELSE 'all_rejected' END,
             CASE WHEN n % 3 = 0 THEN 'buyer' END, CASE WHEN n % 3 = 0 THEN 12.5 END, 'all', 0.75,
             timestamptz '2026-11-30 12:00:00+00' + ((n / 10) * interval '1 millisecond'), NULL,
             'Name ' || n, '+1415555' || lpad((n % 10000)::text, 4, '0'), '', CASE WHEN n % 5 = 0 THEN 'p' || n || '@example.com' END,
             'c' || n, NULL, '{"age": 30}', 'd' || n, NULL, 1, now()
      FROM generate_series(1, 2500) AS n`.execute(ledger.db);
  });
  afterAll(async () => {
    await ledger.close();
    await db.drop();
  });

  const exportAll = async (filters: Parameters<typeof exportPage>[1], view: { admin: boolean; pii: boolean }): Promise<string[][]> => {
    const rows: string[][] = [];
    let cursor: LeadCursor | undefined;
    do {
      const page = await exportPage(ledger.db, filters, { limit: 1000, ...(cursor ? { cursor } : {}) }, view);
      rows.push(...page.rows);
      cursor = page.next;
    } while (cursor);
    return rows;
  };

  test('pages of 1,000 give every lead once, in search order, with search values, masked unless pii', async () => {
    const rows = await exportAll({}, { admin: true, pii: false });
    expect(rows).toHaveLength(2500);
    expect(new Set(rows.map((r) => r[0])).size).toBe(2500);
    const searched = await searchLeads(ledger.db, {}, { limit: 2500 });
    expect(rows.map((r) => r[0])).toEqual(searched.leads.map((l) => l.id));
    const columns = exportColumns(true);
    const first = Object.fromEntries(columns.map((c, i) => [c, rows[0]?.[i]]));
    const lead = searched.leads[0];
    expect(first).toEqual({
      id: lead?.id,
      createdAt: lead?.created_at.toISOString(),
      supplier: 'acme',
      source: lead?.source,
      geo: 'US',
      status: lead?.status,
      reason: lead?.reason ?? '',
      quality: '0.75',
      name: lead?.name,
      phone: maskPhone(lead?.phone ?? ''),
      email: lead?.email ? maskEmail(lead.email) : '',
      click_id: lead?.click_id,
      destination: lead?.destination ?? '',
      payout: lead?.payout === null ? '' : String(lead?.payout),
      route: 'all',
    });
    const withPii = await exportAll({ source: 'facebook' }, { admin: true, pii: true });
    expect(withPii).toHaveLength(1250);
    expect(withPii.every((r) => /^\+1415555\d{4}$/.test(r[9] ?? ''))).toBe(true);
    const supplierView = await exportAll({ status: 'delivered' }, { admin: false, pii: false });
    expect(supplierView).toHaveLength(833);
    expect(supplierView.every((r) => r.length === exportColumns(false).length)).toBe(true);
  });
});
