import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { LedgerChange } from '@leadrouter/redis';
import { applyChanges, applyRetention, migrateLedger, openLedger, type Ledger } from '../src/index.js';

/** The batch writer on the embedded engine (PGlite): idempotent and order-free. */
describe('applyChanges on PGlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-pglite-'));
  let ledger: Ledger;
  beforeAll(async () => {
    ledger = await openLedger({ pgliteDir: dir });
    await migrateLedger(ledger.db);
    await migrateLedger(ledger.db);
  }, 30_000);
  afterAll(async () => {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const state = (status: string, extra: Partial<LedgerChange['state']> = {}): LedgerChange['state'] => ({ status, destination: '', payout: '', reason: '', route: '', soldAt: '', round: '', ...extra });
  const changes = (id: string): LedgerChange[] => [
    {
      entryId: '1-0',
      leadId: id,
      seq: 1,
      event: { at: '2026-11-30T12:00:00.000Z', type: 'received' },
      state: state('queued'),
      record: {
        supplier: 'acme',
        createdAt: String(Date.parse('2026-11-30T12:00:00Z')),
        quality: '0.8',
        phoneNational: '(415) 555-0100',
        source: 'Facebook',
        geo: 'US',
        data: JSON.stringify({ name: 'Jane Roe', phone: '+14155550100', fields: { vertical: 'auto' } }),
        phoneDigest: 'd1',
        emailDigest: '',
      },
    },
    { entryId: '2-0', leadId: id, seq: 2, event: { at: '2026-11-30T12:00:01.000Z', type: 'routed' }, state: state('queued', { route: 'all' }) },
    { entryId: '3-0', leadId: id, seq: 3, event: { at: '2026-11-30T12:00:02.000Z', type: 'attempt' }, state: state('delivered', { destination: 'buyer', payout: '12.5', route: 'all', soldAt: String(Date.parse('2026-11-30T12:00:02Z')) }) },
    { entryId: '4-0', leadId: id, seq: 4, event: { at: '2026-11-30T12:00:02.000Z', type: 'delivered' }, state: state('delivered', { destination: 'buyer', payout: '12.5', route: 'all', soldAt: String(Date.parse('2026-11-30T12:00:02Z')) }) },
  ];

  const read = async (id: string) => ({
    lead: await ledger.db.selectFrom('leads').select(['status', 'destination', 'payout', 'route', 'last_seq', 'name', 'fields']).where('id', '=', id).executeTakeFirst(),
    events: (await ledger.db.selectFrom('lead_events').select(['seq', 'type']).where('lead_id', '=', id).orderBy('seq').execute()).map((e) => `${e.seq}:${e.type}`),
    sales: await ledger.db.selectFrom('sales').select(['destination', 'payout', 'status']).where('lead_id', '=', id).execute(),
  });
  const expected = {
    lead: { status: 'delivered', destination: 'buyer', payout: 12.5, route: 'all', last_seq: 4, name: 'Jane Roe', fields: { vertical: 'auto' } },
    events: ['1:received', '2:routed', '3:attempt', '4:delivered'],
    sales: [{ destination: 'buyer', payout: 12.5, status: 'delivered' }],
  };

  test('a batch applied twice stores each change once', async () => {
    await applyChanges(ledger.db, changes('L1'));
    await applyChanges(ledger.db, changes('L1'));
    expect(await read('L1')).toEqual(expected);
  });

  test('changes in any order, over several batches, end in the same rows', async () => {
    const all = changes('L2');
    await applyChanges(ledger.db, [all[3]!, all[1]!]);
    await applyChanges(ledger.db, [all[2]!]);
    await applyChanges(ledger.db, [all[0]!, all[1]!]);
    expect(await read('L2')).toEqual(expected);
  });

  test('a shared lead: a sale row per buyer, each with its own status, payout and money, whatever order its changes come in', async () => {
    const id = 'LS1';
    const [received] = changes(id);
    const soldAt = String(Date.parse('2026-11-30T12:00:02Z'));
    const sale = (seq: number, type: string, destination: string, status: string, payout: string, money: { booked: number; takenBack: number }): LedgerChange => ({
      entryId: `${seq}-0`,
      leadId: id,
      seq,
      event: { at: `2026-11-30T12:00:0${seq}.000Z`, type, destination },
      state: state('delivered', { route: 'auction', soldAt, saleDestination: destination, saleStatus: status, salePayout: payout }),
      money,
    });
    const all: LedgerChange[] = [
      received as LedgerChange,
      sale(2, 'delivered', 'a', 'delivered', '10', { booked: 10, takenBack: 0 }),
      sale(3, 'delivered', 'b', 'delivered', '6', { booked: 6, takenBack: 0 }),
      sale(4, 'postback', 'a', 'converted', '12', { booked: 2, takenBack: 0 }),
      sale(5, 'postback', 'b', 'returned', '6', { booked: 0, takenBack: 6 }),
    ];
    await applyChanges(ledger.db, [all[4], all[2]] as LedgerChange[]);
    await applyChanges(ledger.db, [all[0], all[3], all[1], all[4]] as LedgerChange[]);
    const sales = await ledger.db.selectFrom('sales').select(['destination', 'payout', 'status', 'revenue_booked', 'revenue_taken_back']).where('lead_id', '=', id).orderBy('destination').execute();
    expect(sales).toEqual([
      { destination: 'a', payout: 12, status: 'converted', revenue_booked: 12, revenue_taken_back: 0 },
      { destination: 'b', payout: 6, status: 'returned', revenue_booked: 6, revenue_taken_back: 6 },
    ]);
    // The lead is delivered, with no one destination of its own: its buyers are its sales.
    expect(await ledger.db.selectFrom('leads').select(['status', 'destination', 'payout']).where('id', '=', id).executeTakeFirst()).toEqual({ status: 'delivered', destination: null, payout: null });
  });

  test('an older change never overwrites a newer state', async () => {
    const all = changes('L3');
    await applyChanges(ledger.db, all);
    await applyChanges(ledger.db, [{ ...all[1]!, state: state('queued') }]);
    expect((await read('L3')).lead?.status).toBe('delivered');
  });

  test('retention: past piiDays contact data goes (digests stay), past retentionDays the lead goes with its events and sales', async () => {
    await applyChanges(ledger.db, changes('OLD1'));
    const created = Date.parse('2026-11-30T12:00:00Z');
    const day = 86_400_000;
    // 400 days later: past piiDays (365), within retentionDays (730).
    expect(await applyRetention(ledger.db, { retentionDays: 730, piiDays: 365 }, new Date(created + 400 * day))).toMatchObject({ removed: 0 });
    const anonymised = await ledger.db.selectFrom('leads').select(['name', 'phone', 'email', 'phone_digest', 'status']).where('id', '=', 'OLD1').executeTakeFirst();
    expect(anonymised).toEqual({ name: null, phone: null, email: null, phone_digest: 'd1', status: 'delivered' });
    // 800 days later: gone, events and sales too.
    const result = await applyRetention(ledger.db, { retentionDays: 730, piiDays: 365 }, new Date(created + 800 * day));
    expect(result.removed).toBeGreaterThanOrEqual(1);
    expect((await read('OLD1')).lead).toBeUndefined();
    expect((await read('OLD1')).events).toEqual([]);
    expect((await read('OLD1')).sales).toEqual([]);
  });
});
