import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { LedgerChange } from '@leadrouter/redis';
import { seededRandom } from '@leadrouter/routing';
import { freshDatabase, type FreshDatabase } from '@leadrouter/testing';
import { applyChanges, applyRetention, migrateLedger, openLedger, reportRows, type Ledger, type ReportRow } from '../src/index.js';

/**
 * The hourly report rollup (migration 004) against the report it stands in for: a report by day
 * and supplier reads `report_hourly` for whole hours; grouped by source too it joins leads and
 * sales. Summed over source, the second must equal the first, figure by figure, however the
 * changes arrived (shuffled batches, repeats, corrections, returns, retention).
 */
const HOUR = 3_600_000;
const START = Date.parse('2026-11-20T00:00:00Z');
const SUPPLIERS = ['acme', 'beta', 'gamma'];
const SOURCES = ['Facebook', 'Google', 'TikTok'];

function leadChanges(n: number, next: () => number): LedgerChange[] {
  const id = `L${String(n).padStart(6, '0')}`;
  const createdAt = START + Math.floor(next() * 72 * HOUR);
  const supplier = SUPPLIERS[Math.floor(next() * SUPPLIERS.length)] as string;
  const source = SOURCES[Math.floor(next() * SOURCES.length)] as string;
  const at = (ms: number): string => new Date(createdAt + ms).toISOString();
  const base = { destination: '', payout: '', reason: '', route: 'all', soldAt: '', round: '' };
  const out: LedgerChange[] = [
    {
      entryId: `${n}-1`,
      leadId: id,
      seq: 1,
      event: { at: at(0), type: 'received' },
      state: { ...base, status: 'queued', route: '' },
      record: { supplier, createdAt: String(createdAt), quality: '0.5', phoneNational: '', source, geo: 'US', data: JSON.stringify({ name: 'R', phone: '+14155550100', fields: {} }), phoneDigest: `d${n}`, emailDigest: '' },
    },
  ];
  if (next() < 0.3) {
    out.push({ entryId: `${n}-2`, leadId: id, seq: 2, event: { at: at(10), type: 'unsold' }, state: { ...base, status: 'unsold', reason: 'all_rejected' } });
    return out;
  }
  const payout = 5 + Math.floor(next() * 20);
  const sold = { ...base, status: 'delivered', destination: 'buyer', payout: String(payout), soldAt: String(createdAt + 10) };
  out.push({ entryId: `${n}-2`, leadId: id, seq: 2, event: { at: at(10), type: 'delivered' }, state: sold, money: { booked: payout, takenBack: 0 } });
  const roll = next();
  if (roll < 0.2) {
    out.push({ entryId: `${n}-3`, leadId: id, seq: 3, event: { at: at(20), type: 'postback' }, state: { ...sold, status: 'returned' }, money: { booked: 0, takenBack: payout } });
  } else if (roll < 0.4) {
    const corrected = payout - 2.5;
    out.push({ entryId: `${n}-3`, leadId: id, seq: 3, event: { at: at(20), type: 'postback' }, state: { ...sold, status: 'accepted', payout: String(corrected) }, money: { booked: 0, takenBack: 2.5 } });
  } else if (roll < 0.5) {
    out.push({ entryId: `${n}-3`, leadId: id, seq: 3, event: { at: at(20), type: 'postback' }, state: { ...sold, status: 'accepted', payout: String(payout + 1.25) }, money: { booked: 1.25, takenBack: 0 } });
  }
  return out;
}

/** The report grouped by source too, folded back over source: what the join of leads and sales says. */
function foldSources(rows: ReportRow[]): Map<string, Omit<ReportRow, 'group'>> {
  const folded = new Map<string, Omit<ReportRow, 'group'>>();
  for (const { group, ...figures } of rows) {
    const key = `${group.day ?? ''}|${group.supplier ?? ''}`;
    const into = folded.get(key);
    if (!into) folded.set(key, { ...figures });
    else for (const [k, v] of Object.entries(figures) as Array<[keyof typeof figures, number]>) into[k] = Math.round((into[k] + v) * 100) / 100;
  }
  return folded;
}

describe('the report rollup on PostgreSQL', () => {
  let db: FreshDatabase;
  let ledger: Ledger;
  beforeAll(async () => {
    db = await freshDatabase();
    ledger = await openLedger({ databaseUrl: db.url });
    await migrateLedger(ledger.db);
  });
  afterAll(async () => {
    await ledger.close();
    await db.drop();
  });

  test('a report by day and supplier (from the rollup) equals the one by day, supplier and source (from the leads) summed over source, through shuffled batches, repeats and retention', async () => {
    // Seeded, so a failure replays.
    const next = seededRandom(7);
    const all = Array.from({ length: 400 }, (_, n) => leadChanges(n, next)).flat();
    // Shuffled, in batches of varying size, a third of them applied twice: order-free and idempotent.
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [all[i], all[j]] = [all[j] as LedgerChange, all[i] as LedgerChange];
    }
    for (let i = 0; i < all.length; ) {
      const size = 1 + Math.floor(next() * 60);
      const batch = all.slice(i, i + size);
      await applyChanges(ledger.db, batch);
      if (next() < 0.33) await applyChanges(ledger.db, batch);
      i += size;
    }
    const options = { from: new Date(START + 30 * 60_000), to: new Date(START + 80 * HOUR + 17 * 60_000), timezone: 'UTC', supplierPayouts: { acme: { fixed: 4 }, beta: { share: 0.4 } } };
    // beta is paid a share: 0.4 of sales in quarters is whole cents, so the sums of rounded parts are exact.
    /** Both reports, compared; returns how many groups they have. */
    const compare = async (timezone = 'UTC'): Promise<number> => {
      const rolled = await reportRows(ledger.db, { ...options, timezone, groupBy: ['day', 'supplier'] });
      const joined = foldSources(await reportRows(ledger.db, { ...options, timezone, groupBy: ['day', 'supplier', 'source'] }));
      expect(new Map(rolled.map(({ group, ...figures }) => [`${group.day ?? ''}|${group.supplier ?? ''}`, figures]))).toEqual(joined);
      return rolled.length;
    };
    // Three days (and a bit) of three suppliers.
    expect(await compare()).toBeGreaterThanOrEqual(9);
    // A share of each sale's net revenue: corrections and returns move it with the revenue.
    const beta = (await reportRows(ledger.db, { ...options, groupBy: ['supplier'] })).find((r) => r.group.supplier === 'beta');
    expect(beta?.supplierPayout).toBeCloseTo(0.4 * (beta?.netRevenue ?? NaN), 2);
    // In a timezone of whole hours (the rollup serves it) and in one of half hours (the join does),
    // each lead counts on its local day (reports.timezone), as the calendar there says.
    for (const timezone of ['America/New_York', 'Asia/Kolkata']) {
      await compare(timezone);
      const localDay = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' });
      const want = new Map<string, number>();
      for (const c of all) {
        if (!c.record) continue;
        const at = Number(c.record.createdAt);
        if (at < options.from.getTime() || at >= options.to.getTime()) continue;
        const key = `${localDay.format(at)}|${c.record.supplier}`;
        want.set(key, (want.get(key) ?? 0) + 1);
      }
      const rows = await reportRows(ledger.db, { ...options, timezone, groupBy: ['day', 'supplier'] });
      expect(new Map(rows.map((r) => [`${r.group.day ?? ''}|${r.group.supplier ?? ''}`, r.accepted]))).toEqual(want);
    }
    const rollupRows = await ledger.db.selectFrom('report_hourly' as never).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirst();
    expect(Number(rollupRows?.n)).toBeGreaterThan(50);
    // Retention removes the oldest leads (its clock set four days after the first of them): the rollup follows.
    await applyRetention(ledger.db, { retentionDays: 2, piiDays: 1 }, new Date(START + 4 * 24 * HOUR));
    expect(await compare()).toBe(3);
  }, 60_000);
});
