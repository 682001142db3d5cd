/**
 * The soak's reconciliation of the lead ledger (contract §10): once the writer has caught up, every
 * accepted lead is in PostgreSQL with the final status the soak saw, its whole history (events
 * 1..n, none missing, starting with `received`), and each buyer's sales there are exactly the leads
 * that buyer says it accepted, with their revenue.
 */
import { sql } from 'kysely';
import { openLedger } from '@leadrouter/ledger';
import { LEDGER_BUCKETS, redisKeys, type RedisClient } from '@leadrouter/redis';

export interface LedgerReconciliation {
  /** Seconds the writer took to drain the change streams after the last lead ended. */
  caughtUpInSeconds: number;
  missing: number;
  wrongStatus: number;
  /** Leads whose events in the ledger are not 1..n with `received` first. */
  brokenHistory: number;
  /** Buyers whose sales in the ledger differ from the leads they accepted, or from payout × count. */
  salesMismatch: string[];
  ledgerRevenue: number;
  buyersRevenue: number;
}

export async function reconcileLedger(options: {
  databaseUrl: string;
  redis: RedisClient;
  prefix: string;
  /** Each accepted lead's final status as the soak saw it (a postback's status where one was applied). */
  expected: ReadonlyMap<string, string>;
  /** What each buyer accepted, by its own count, and what it pays per lead. */
  buyers: ReadonlyArray<{ id: string; accepted: readonly string[] }>;
  payout: number;
}): Promise<LedgerReconciliation> {
  const keys = redisKeys(options.prefix, { ledger: true });
  const started = Date.now();
  for (;;) {
    let backlog = 0;
    for (let b = 0; b < LEDGER_BUCKETS; b++) backlog += await options.redis.xlen(keys.ledgerStream(b));
    if (backlog === 0 || Date.now() - started > 120_000) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const caughtUpInSeconds = (Date.now() - started) / 1000;
  const ledger = await openLedger({ databaseUrl: options.databaseUrl });
  try {
    const ids = [...options.expected.keys()];
    const leads = await ledger.db.selectFrom('leads').select(['id', 'status']).where('id', 'in', ids.length > 0 ? ids : ['']).execute();
    const statusOf = new Map(leads.map((l) => [l.id, l.status]));
    const missing = ids.filter((id) => !statusOf.has(id)).length;
    const wrongStatus = ids.filter((id) => statusOf.has(id) && statusOf.get(id) !== options.expected.get(id)).length;
    const histories = await sql<{ lead_id: string; n: string; top: number; first: string }>`
      SELECT lead_id, count(*) AS n, max(seq) AS top, min(type) FILTER (WHERE seq = 1) AS first
      FROM lead_events GROUP BY lead_id`.execute(ledger.db);
    const brokenHistory = histories.rows.filter((h) => Number(h.n) !== Number(h.top) || h.first !== 'received').length;
    const sales = await ledger.db.selectFrom('sales').select(['lead_id', 'destination', 'revenue_booked', 'revenue_taken_back']).execute();
    const salesMismatch: string[] = [];
    let ledgerRevenue = 0;
    let buyersRevenue = 0;
    for (const buyer of options.buyers) {
      const own = sales.filter((s) => s.destination === buyer.id);
      const net = own.reduce((sum, s) => sum + s.revenue_booked - s.revenue_taken_back, 0);
      ledgerRevenue += net;
      buyersRevenue += buyer.accepted.length * options.payout;
      const inLedger = new Set(own.map((s) => s.lead_id));
      const same = inLedger.size === buyer.accepted.length && buyer.accepted.every((id) => inLedger.has(id));
      if (!same || Math.abs(net - buyer.accepted.length * options.payout) > 0.005) salesMismatch.push(`${buyer.id} (ledger ${own.length}, buyer ${buyer.accepted.length})`);
    }
    return { caughtUpInSeconds, missing, wrongStatus, brokenHistory, salesMismatch, ledgerRevenue, buyersRevenue };
  } finally {
    await ledger.close();
  }
}
