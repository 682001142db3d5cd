import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { LedgerWriter, migrateLedger, openLedger, type Ledger } from '@leadrouter/ledger';
import { createMetrics } from '@leadrouter/metrics';
import { LEDGER_BUCKETS, LEDGER_GROUP, redisKeys } from '@leadrouter/redis';
import { freePort } from '@leadrouter/redis';
import { freshDatabase, spawnRole, startPostgres, testRedisClient, testRedisUrl, waitFor, type FreshDatabase, type OwnedPostgres } from '@leadrouter/testing';
import { closedAfterEach, ADMIN, KEY, systemYaml, uniquePhone, type TestSystem } from '@leadrouter/testing/system';
import { startLedger, type LedgerHandle } from '../src/start.js';

/**
 * The ledger end to end on a real PostgreSQL (the suite's private one, a database per test): the
 * whole system feeds it through the change stream, and search, export and reports read it.
 */
const { server, system } = closedAfterEach();

const yaml = (buyerUrl: string): string =>
  systemYaml(
    `
destinations:
  - { id: buyer, url: "${buyerUrl}/", payout: 12.5, postback: { token: pbt } }
routes:
  - { id: all, match: { source: [Facebook] }, destinations: [{ id: buyer }] }
`,
    'supplierPayout: 8',
  );

async function withLedger(sys: TestSystem, db: FreshDatabase, open: Array<{ close(): Promise<unknown> }>): Promise<LedgerHandle> {
  const writer = await startLedger({ env: { ...sys.env, databaseUrl: db.url }, logger: sys.logs.logger, port: 0 });
  open.push(writer);
  return writer;
}

const get = async (sys: TestSystem, path: string, key: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(`http://127.0.0.1:${sys.intake.port}${path}`, { headers: { 'x-api-key': key } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('the lead ledger on PostgreSQL', () => {
  const open: Array<{ close(): Promise<unknown> }> = [];
  let db: FreshDatabase;
  let ledger: Ledger;
  beforeAll(async () => {
    db = await freshDatabase();
    ledger = await openLedger({ databaseUrl: db.url });
  });
  /** A database of its own for one test, migrated, with a ledger handle on it; dropped after the suite. */
  const migratedDatabase = async (): Promise<Ledger> => {
    const own = await freshDatabase();
    open.push({ close: () => own.drop() });
    const reader = await openLedger({ databaseUrl: own.url });
    open.push(reader);
    await migrateLedger(reader.db);
    return reader;
  };
  afterAll(async () => {
    for (const thing of open.reverse()) await thing.close();
    await ledger.close();
    await db.drop();
  });

  test('every change reaches the ledger once: search (supplier and admin), phone search on digests, CSV export, reports that agree with the revenue counters', async () => {
    const buyer = await server((_req, res) => res.writeHead(200).end('{}'));
    const sys = await system(yaml(buyer.url), { env: { ledger: true, databaseUrl: db.url } });
    await withLedger(sys, db, open);
    const phones = [uniquePhone(), uniquePhone(), uniquePhone()];
    const ids: string[] = [];
    for (const phone of phones) {
      const res = await sys.post({ name: 'Led Ger', phone, geo: 'US', source: 'Facebook', email: 'led@example.com' });
      ids.push(res.body.id as string);
      await sys.final(res.body.id as string);
    }
    const unrouted = await sys.post({ name: 'No Route', phone: uniquePhone(), geo: 'US', source: 'Nowhere' });
    await sys.final(unrouted.body.id as string);
    // Refused at intake: counted in the report as rejected (and received), never a lead.
    expect((await sys.post({ name: 'Bad Phone', phone: '123', geo: 'US', source: 'Facebook' })).status).toBe(400);
    // A correction up on the first, a return of the second, a correction down on the third.
    for (const [id, status, payout] of [[ids[0], 'accepted', '15'], [ids[1], 'returned', ''], [ids[2], 'accepted', '10']] as const) {
      const params = new URLSearchParams({ lead_id: id as string, status, token: 'pbt', ...(payout ? { payout } : {}) });
      expect((await fetch(`${sys.postbackUrl}/v1/postbacks/buyer?${params}`)).status).toBe(200);
    }
    const expectedEvents = async (id: string): Promise<number> => (await sys.lead(id)).events.length;
    for (const id of [...ids, unrouted.body.id as string]) {
      const want = await expectedEvents(id);
      await waitFor(async () => {
        const row = await ledger.db.selectFrom('lead_events').select((eb) => eb.fn.countAll<string>().as('n')).where('lead_id', '=', id).executeTakeFirst();
        return Number(row?.n) === want ? true : undefined;
      }, 15_000, `lead ${id} in the ledger`);
    }
    // GET /v1/leads/:id answers the same from the ledger once Redis has let the lead go (contract §10).
    const hotAdmin = await get(sys, `/v1/leads/${ids[0] as string}`, ADMIN);
    const hotSupplier = await get(sys, `/v1/leads/${ids[0] as string}`, KEY);
    const redis = testRedisClient();
    const keys = redisKeys(sys.env.prefix);
    await redis.del(keys.lead(ids[0] as string), keys.leadData(ids[0] as string), keys.leadEvents(ids[0] as string));
    redis.disconnect();
    expect(await get(sys, `/v1/leads/${ids[0] as string}`, ADMIN)).toEqual(hotAdmin);
    expect(await get(sys, `/v1/leads/${ids[0] as string}`, KEY)).toEqual(hotSupplier);
    expect(hotSupplier.status).toBe(200);
    // Same status, destination and payout as Redis says.
    const row = await ledger.db.selectFrom('leads').selectAll().where('id', '=', ids[0] as string).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'accepted', destination: 'buyer', payout: 15, supplier: 'acme', source: 'Facebook', name: 'Led Ger' });

    // The supplier's search: its own leads, newest first, paginated, contact masked, no buyers or money.
    const page1 = await get(sys, '/v1/leads?limit=2', KEY);
    expect(page1.status).toBe(200);
    const leads1 = page1.body.leads as Array<Record<string, unknown>>;
    expect(leads1.map((l) => l.id)).toEqual([unrouted.body.id, ids[2]]);
    expect(leads1[0]).not.toHaveProperty('destination');
    expect(leads1[0]).not.toHaveProperty('payout');
    expect(String(leads1[1]?.phone)).toMatch(/\*/);
    const page2 = await get(sys, `/v1/leads?limit=2&cursor=${String(page1.body.nextCursor)}`, KEY);
    expect((page2.body.leads as Array<{ id: string }>).map((l) => l.id)).toEqual([ids[1], ids[0]]);
    expect(page2.body.nextCursor).toBeNull();
    expect((await get(sys, `/v1/leads?phone=${encodeURIComponent(phones[0] as string)}`, KEY)).status).toBe(400);
    // The admin finds a lead by its phone (matched on digests) and by status.
    const byPhone = await get(sys, `/v1/leads?phone=${encodeURIComponent(phones[0] as string)}`, ADMIN);
    expect((byPhone.body.leads as Array<{ id: string; destination: string }>).map((l) => [l.id, l.destination])).toEqual([[ids[0], 'buyer']]);
    expect((await get(sys, '/v1/leads?status=unsold', ADMIN)).body.leads).toEqual([expect.objectContaining({ id: unrouted.body.id, reason: 'no_route' })]);

    // The CSV export: every matching lead, masked unless the admin asks for pii=1.
    const csv = await (await fetch(`http://127.0.0.1:${sys.intake.port}/v1/leads/export.csv?source=Facebook`, { headers: { 'x-api-key': ADMIN } })).text();
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('id,createdAt,supplier,source,geo,status,reason,quality,name,phone,email,click_id,destination,payout,route');
    expect(lines).toHaveLength(4);
    expect(csv).not.toContain(phones[0]);
    const piiCsv = await (await fetch(`http://127.0.0.1:${sys.intake.port}/v1/leads/export.csv?pii=1`, { headers: { 'x-api-key': ADMIN } })).text();
    expect(piiCsv).toContain(phones[0]);

    // Reports agree with the counters to the cent: net revenue = booked - returned.
    await waitFor(async () => {
      const n = await ledger.db.selectFrom('intake_rejections').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirst();
      return Number(n?.n) === 1 ? true : undefined;
    }, 10_000, 'the rejection in the ledger');
    const report = await get(sys, '/v1/reports?groupBy=supplier', ADMIN);
    const metrics = await sys.metrics();
    const sum = (name: string): number =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith(`${name}{`))
        .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
    const cents = (n: number): number => Math.round(n * 100) / 100;
    const booked = cents(sum('leadrouter_revenue_total'));
    const takenBack = cents(sum('leadrouter_revenue_returned_total'));
    const net = cents(booked - takenBack);
    // Each figure, not only the net: the correction down is taken back, as the counters book it.
    expect(report.body.rows).toEqual([
      expect.objectContaining({ supplier: 'acme', received: 5, rejected: 1, accepted: 4, sold: 3, unsold: 1, returned: 1, revenue: booked, revenueReturned: takenBack, netRevenue: net, supplierPayout: 16, margin: net - 16, acceptanceRate: 0.75, epl: net / 4 }),
    ]);
    expect([booked, takenBack, net]).toEqual([40, 15, 25]);
    const supplierReport = await get(sys, '/v1/reports?groupBy=day', KEY);
    const supplierRow = (supplierReport.body.rows as Array<Record<string, unknown>>)[0];
    expect(supplierRow).toMatchObject({ accepted: 4, sold: 3, supplierPayout: 16 });
    expect(supplierRow).not.toHaveProperty('netRevenue');
    expect(supplierRow).not.toHaveProperty('revenue');
    expect((await get(sys, '/v1/reports?groupBy=destination', KEY)).status).toBe(400);
  }, 60_000);

  test('a shared lead (contract §9): a sale row per buyer with its own money, found by either buyer, reported per destination, read back the same from the ledger', async () => {
    // A database of its own: its reports by destination hold this test's sales only.
    const own = await freshDatabase();
    open.push({ close: () => own.drop() });
    const bidder = (bid: number) => server((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(req.url.startsWith('/ping') ? JSON.stringify({ price: bid }) : '{}'));
    const [a, b] = [await bidder(10), await bidder(6)];
    const bidderYaml = (id: string, url: string): string => `
  - id: ${id}
    url: "${url}/post"
    payout: 1
    postback: { token: pb-${id} }
    ping: { url: "${url}/ping", response: { bid: { path: price } } }`;
    const sys = await system(
      systemYaml(`
destinations:${bidderYaml('a', a.url)}${bidderYaml('b', b.url)}
routes:
  - { id: auction, strategy: auction, auction: { mode: shared, maxSales: 2 }, destinations: [{ id: a }, { id: b }] }
`, 'supplierPayout: { share: 0.5 }'),
      { env: { ledger: true, databaseUrl: own.url } },
    );
    await withLedger(sys, own, open);
    const ownLedger = await openLedger({ databaseUrl: own.url });
    open.push(ownLedger);
    const id = (await sys.post({ name: 'Sha Red', phone: uniquePhone(), geo: 'US', source: 'Shared' })).body.id as string;
    await waitFor(async () => ((await sys.lead(id)) as unknown as { sales: unknown[] }).sales?.length === 2 || undefined, 15_000, 'two sales');
    for (const [to, status, payout] of [['a', 'converted', '12'], ['b', 'returned', '']] as const) {
      const params = new URLSearchParams({ lead_id: id, status, token: `pb-${to}`, ...(payout ? { payout } : {}) });
      expect((await fetch(`${sys.postbackUrl}/v1/postbacks/${to}?${params}`)).status).toBe(200);
    }
    const want = (await sys.lead(id)).events.length;
    await waitFor(async () => {
      const row = await ownLedger.db.selectFrom('lead_events').select((eb) => eb.fn.countAll<string>().as('n')).where('lead_id', '=', id).executeTakeFirst();
      return Number(row?.n) === want ? true : undefined;
    }, 15_000, `lead ${id} in the ledger`);
    const sales = await ownLedger.db.selectFrom('sales').select(['destination', 'payout', 'status', 'revenue_booked', 'revenue_taken_back']).where('lead_id', '=', id).orderBy('destination').execute();
    expect(sales).toEqual([
      { destination: 'a', payout: 12, status: 'converted', revenue_booked: 12, revenue_taken_back: 0 },
      { destination: 'b', payout: 6, status: 'returned', revenue_booked: 6, revenue_taken_back: 6 },
    ]);
    // Found by either buyer; reported per destination, and once per lead by supplier.
    for (const to of ['a', 'b']) expect(((await get(sys, `/v1/leads?destination=${to}&source=Shared`, ADMIN)).body.leads as Array<{ id: string }>).map((l) => l.id)).toEqual([id]);
    const byDestination = (await get(sys, '/v1/reports?groupBy=destination', ADMIN)).body.rows as Array<Record<string, unknown>>;
    expect(byDestination.find((r) => r.destination === 'a')).toMatchObject({ sold: 1, revenue: 12, revenueReturned: 0, netRevenue: 12, supplierPayout: 6 });
    expect(byDestination.find((r) => r.destination === 'b')).toMatchObject({ sold: 1, returned: 1, revenue: 6, revenueReturned: 6, netRevenue: 0, supplierPayout: 0 });
    const bySource = (await get(sys, '/v1/reports?groupBy=source', ADMIN)).body.rows as Array<Record<string, unknown>>;
    expect(bySource.find((r) => r.source === 'Shared')).toMatchObject({ accepted: 1, sold: 1, revenue: 18, revenueReturned: 6, netRevenue: 12, supplierPayout: 6 });
    // The admin view's sales[], the same once Redis has let the lead go.
    const hot = await get(sys, `/v1/leads/${id}`, ADMIN);
    expect(hot.body).toMatchObject({ status: 'delivered', destination: null });
    expect([...(hot.body.sales as Array<{ destination: string }>)].sort((x, y) => x.destination.localeCompare(y.destination))).toEqual([
      { destination: 'a', payout: 12, status: 'converted' },
      { destination: 'b', payout: 6, status: 'returned' },
    ]);
    const redis = testRedisClient();
    const keys = redisKeys(sys.env.prefix);
    await redis.del(keys.lead(id), keys.leadData(id), keys.leadEvents(id));
    redis.disconnect();
    expect(await get(sys, `/v1/leads/${id}`, ADMIN)).toEqual(hot);
  }, 60_000);

  test('60 s of PostgreSQL down under load: leads are taken and sold as ever; once it is back, the ledger catches up with every change of every lead', async () => {
    const pg: OwnedPostgres = await startPostgres();
    open.push({ close: () => pg.stop() });
    const own = await openLedger({ databaseUrl: pg.url });
    open.push(own);
    await migrateLedger(own.db);
    const buyer = await server((_req, res) => res.writeHead(200).end('{}'));
    const sys = await system(yaml(buyer.url), { env: { ledger: true, databaseUrl: pg.url } });
    const writer = await withLedger(sys, { url: pg.url, name: '', drop: async () => undefined }, open);
    await waitFor(async () => ((await writer.writer.lagSeconds()) === 0 ? true : undefined), 10_000, 'the writer ready');
    await pg.takeDown('immediate');
    const OUTAGE_MS = 60_000;
    const ids: string[] = [];
    const until = Date.now() + OUTAGE_MS;
    // A steady load for the whole outage (about 20 leads/s), every one answered 202 and sold.
    while (Date.now() < until) {
      const batch = await Promise.all(Array.from({ length: 5 }, () => sys.post()));
      for (const res of batch) {
        expect(res.status).toBe(202);
        ids.push(res.body.id as string);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(ids.length).toBeGreaterThan(600);
    expect(await writer.writer.lagSeconds()).toBeGreaterThan(50);
    await pg.bringUp();
    const redis = testRedisClient();
    open.push({ close: async () => redis.disconnect() });
    const keys = redisKeys(sys.env.prefix);
    await waitFor(async () => ((await Promise.all(ids.map((id) => redis.hget(keys.lead(id), 'status')))).every((st) => st === 'delivered') ? true : undefined), 30_000, 'every lead sold');
    // Every lead's history, as Redis counts it (its `seq`), is in the ledger, event by event.
    const seqs = await Promise.all(ids.map((id) => redis.hget(keys.lead(id), 'seq')));
    const want = seqs.reduce((n, seq) => n + Number(seq), 0);
    await waitFor(async () => {
      const n = await own.db.selectFrom('lead_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirst().catch(() => undefined);
      return Number(n?.n ?? 0) >= want ? true : undefined;
    }, 60_000, `all ${want} changes in the ledger`);
    await waitFor(async () => ((await writer.writer.lagSeconds()) < 2 ? true : undefined), 10_000, 'the lag back under 2 s');
    const rows = await own.db.selectFrom('leads').select(['id', 'status']).execute();
    expect(rows).toHaveLength(ids.length);
    expect(rows.filter((r) => r.status !== 'delivered')).toEqual([]);
    const perLead = await own.db.selectFrom('lead_events').select(['lead_id', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('lead_id').execute();
    const stored = new Map(perLead.map((r) => [r.lead_id, Number(r.n)]));
    expect(ids.filter((id, i) => stored.get(id) !== Number(seqs[i]))).toEqual([]);
  }, 240_000);

  test('a writer killed with kill -9 mid-stream loses nothing and duplicates nothing: the next one takes over', async () => {
    const own = await freshDatabase();
    open.push({ close: () => own.drop() });
    const reader = await openLedger({ databaseUrl: own.url });
    open.push(reader);
    const buyer = await server((_req, res) => res.writeHead(200).end('{}'));
    // The intake reads compacted leads back from the ledger, as every process of an install with DATABASE_URL does.
    const sys = await system(yaml(buyer.url), { env: { ledger: true, databaseUrl: own.url } });
    const roleEnv = { REDIS_URL: testRedisUrl(), LEADROUTER_PREFIX: sys.env.prefix, DATABASE_URL: own.url, HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    const first = spawnRole('ledger', { ...roleEnv, LEDGER_PORT: String(await freePort()) });
    open.push({ close: () => first.stop() });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push((await sys.post()).body.id as string);
    await waitFor(async () => {
      const n = await reader.db.selectFrom('lead_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirst().catch(() => undefined);
      return Number(n?.n ?? 0) > 0 ? true : undefined;
    }, 30_000, 'the first writer to apply changes');
    await first.stop('SIGKILL');
    for (let i = 0; i < 20; i++) ids.push((await sys.post()).body.id as string);
    for (const id of ids) await sys.final(id);
    const second = spawnRole('ledger', { ...roleEnv, LEDGER_PORT: String(await freePort()) });
    open.push({ close: () => second.stop('SIGTERM') });
    let want = 0;
    for (const id of ids) want += (await sys.lead(id)).events.length;
    // Whatever the killed writer had read but not acknowledged stays pending under its name: the
    // second writer claims it once it has been idle for 30 s. Hence the long wait.
    await waitFor(async () => {
      const n = await reader.db.selectFrom('lead_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirst();
      return Number(n?.n) === want ? true : undefined;
    }, 60_000, `all ${want} changes in the ledger`);
    const leads = await reader.db.selectFrom('leads').select(['id', 'status']).execute();
    expect(leads).toHaveLength(ids.length);
    expect(leads.every((l) => l.status === 'delivered')).toBe(true);
  }, 120_000);

  test("a batch a dead writer read but never acknowledged is taken over by another writer, and stored once", async () => {
    const reader = await migratedDatabase();
    const buyer = await server((_req, res) => res.writeHead(200).end('{}'));
    const sys = await system(yaml(buyer.url), { env: { ledger: true } });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await sys.post()).body.id as string);
    for (const id of ids) await sys.final(id);
    // A writer that reads everything and dies before applying it: its entries stay pending under its name.
    const redis = testRedisClient();
    open.push({ close: async () => redis.disconnect() });
    const keys = redisKeys(sys.env.prefix, { ledger: true });
    const streams = Array.from({ length: LEDGER_BUCKETS }, (_, b) => keys.ledgerStream(b));
    for (const stream of streams) await redis.xgroup('CREATE', stream, LEDGER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
    // Stream by stream: on a cluster each lives in its own bucket's slot.
    const taken = (await Promise.all(streams.map((stream) => redis.xreadgroup('GROUP', LEDGER_GROUP, 'dead-writer', 'COUNT', 10_000, 'STREAMS', stream, '>')))) as Array<Array<[string, unknown[]]> | null>;
    const pending = taken.reduce((n, reply) => n + (reply?.[0]?.[1].length ?? 0), 0);
    let want = 0;
    for (const id of ids) want += (await sys.lead(id)).events.length;
    expect(pending).toBe(want);
    const writerRedis = testRedisClient();
    open.push({ close: async () => writerRedis.disconnect() });
    const writer = new LedgerWriter({ redis: writerRedis, keys, db: reader.db, consumer: 'survivor', metrics: createMetrics(), logger: sys.logs.logger, claimIdleMs: 200, blockMs: 100 });
    await new Promise((r) => setTimeout(r, 250));
    // Rounds until nothing is left: the survivor claims the dead writer's entries (idle past 200 ms) and applies them.
    let applied = 0;
    for (let round = 0; round < 20 && applied < want; round++) applied += await writer.round();
    expect(applied).toBe(want);
    const events = await reader.db.selectFrom('lead_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirst();
    expect(Number(events?.n)).toBe(want);
    for (const stream of streams) expect(await redis.xlen(stream)).toBe(0);
  }, 60_000);

  test("a supplier's search, export and reports hold its own leads only, and no revenue or buyer", async () => {
    const own = await freshDatabase();
    open.push({ close: () => own.drop() });
    const buyer = await server((_req, res) => res.writeHead(200).end('{}'));
    const twoSuppliers = `
dedupe: { window: 0 }
suppliers:
  - { id: acme, apiKeys: ["${KEY}"], supplierPayout: 8 }
  - { id: other, apiKeys: ["other-key"] }
destinations:
  - { id: buyer, url: "${buyer.url}/", payout: 12.5 }
routes:
  - { id: all, destinations: [{ id: buyer }] }
`;
    const sys = await system(twoSuppliers, { env: { ledger: true, databaseUrl: own.url } });
    const writer = await withLedger(sys, own, open);
    const mine = (await sys.post()).body.id as string;
    const theirs = await fetch(`http://127.0.0.1:${sys.intake.port}/v1/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'other-key' },
      body: JSON.stringify({ name: 'Their Lead', phone: uniquePhone(), geo: 'US', source: 'Facebook' }),
    });
    const theirId = ((await theirs.json()) as { id: string }).id;
    await sys.final(mine);
    await sys.final(theirId);
    await waitFor(async () => {
      const leads = (await get(sys, '/v1/leads?status=delivered', ADMIN)).body.leads as unknown[] | undefined;
      return leads?.length === 2 && (await writer.writer.lagSeconds()) === 0 ? true : undefined;
    }, 15_000, 'both leads in the ledger');
    const search = await get(sys, '/v1/leads', KEY);
    expect((search.body.leads as Array<{ id: string }>).map((l) => l.id)).toEqual([mine]);
    expect((await get(sys, `/v1/leads?supplier=other`, KEY)).status).toBe(400);
    const csv = await (await fetch(`http://127.0.0.1:${sys.intake.port}/v1/leads/export.csv`, { headers: { 'x-api-key': KEY } })).text();
    expect(csv).toContain(mine);
    expect(csv).not.toContain(theirId);
    expect(csv.split('\n')[0]).not.toMatch(/destination|payout/);
    const report = await get(sys, '/v1/reports?groupBy=supplier', KEY);
    expect(report.body.rows).toEqual([expect.objectContaining({ supplier: 'acme', accepted: 1, sold: 1, supplierPayout: 8 })]);
    expect(JSON.stringify(report.body)).not.toMatch(/revenue|12\.5|buyer/i);
  }, 60_000);

  test('a change PostgreSQL refuses for its data is set aside in the dead-letter stream; the changes around it are stored', async () => {
    const reader = await migratedDatabase();
    const buyer = await server((_req, res) => res.writeHead(200).end('{}'));
    const sys = await system(yaml(buyer.url), { env: { ledger: true } });
    const keys = redisKeys(sys.env.prefix, { ledger: true });
    const redis = testRedisClient();
    open.push({ close: async () => redis.disconnect() });
    const before = (await sys.post()).body.id as string;
    await sys.final(before);
    // A `received` change whose lead fields are not JSON, in the middle of the stream (as a bug or a hand edit could leave it).
    const poison = '01ARZ3NDEKTSV4RRFFQ69G5FA0';
    const record = JSON.stringify({ supplier: 'acme', createdAt: String(Date.now()), quality: '1', phoneNational: '', source: 'Facebook', geo: 'US', data: '{not json', phoneDigest: 'x', emailDigest: '' });
    await redis.xadd(keys.ledgerStreamOf(poison), '*', 'lead', poison, 'seq', '1', 'event', JSON.stringify({ type: 'received', at: new Date().toISOString() }), 'state', '{"status":"queued"}', 'record', record);
    await redis.xadd(keys.ledgerStreamOf(poison), '*', 'not', 'a change');
    const after = (await sys.post()).body.id as string;
    await sys.final(after);
    const writerRedis = testRedisClient();
    open.push({ close: async () => writerRedis.disconnect() });
    const writer = new LedgerWriter({ redis: writerRedis, keys, db: reader.db, consumer: 'w1', metrics: createMetrics(), logger: sys.logs.logger, blockMs: 100 });
    for (let round = 0; round < 10; round++) await writer.round();
    const leads = await reader.db.selectFrom('leads').select('id').orderBy('id').execute();
    expect(leads.map((l) => l.id)).toEqual([before, after].sort());
    const dead = (await redis.xrange(keys.ledgerDead(), '-', '+')) as Array<[string, string[]]>;
    expect(dead).toHaveLength(2);
    const fieldsOf = (entry: [string, string[]]): Record<string, string> => Object.fromEntries(entry[1].flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1] as string]] : [])));
    expect(dead.map((e) => fieldsOf(e).error).sort()).toEqual(['not a ledger change', expect.stringMatching(/JSON/)].sort());
    expect(JSON.parse(fieldsOf(dead.find((e) => fieldsOf(e).error !== 'not a ledger change') as [string, string[]]).fields as string)).toContain(poison);
    for (let b = 0; b < LEDGER_BUCKETS; b++) expect(await redis.xlen(keys.ledgerStream(b))).toBe(0);
    // The log names the entries and the kind of error, never the values an error message may quote.
    expect(sys.logs.text()).toContain('SyntaxError');
    expect(sys.logs.text()).not.toContain('not json');
  }, 60_000);
});
