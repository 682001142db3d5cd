import type { ServerResponse } from 'node:http';
import { describe, expect, test } from '@jest/globals';
import type { RecordedRequest, TestServer } from '@leadrouter/testing';
import { waitFor } from '@leadrouter/testing';
import { closedAfterEach, KEY, systemYaml, uniquePhone, type LeadBody, type TestSystem } from '@leadrouter/testing/system';

/**
 * Ping-post auctions (contract §9) against real HTTP bidders: each bidder is one server answering
 * `/ping` with its bid and `/post` with its verdict on the lead itself.
 */
const { server, system } = closedAfterEach();

interface Bidder {
  server: TestServer;
  pings: () => RecordedRequest[];
  posts: () => RecordedRequest[];
}

/** A bidder that bids `bid` (or hangs when `hang`), then accepts the post unless `rejectPost`, answering it once `holdPost` resolves. `failPing` may be changed while it runs. */
async function bidder(o: { bid?: number; hang?: boolean; failPing?: boolean; rejectPost?: boolean; reference?: string; holdPost?: () => Promise<void> }): Promise<Bidder> {
  const s = await server((req: RecordedRequest, res: ServerResponse) => {
    if (req.url.startsWith('/ping')) {
      if (o.hang) return; // never answers: the auction's deadline decides
      if (o.failPing) {
        res.writeHead(500).end('down');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o.bid === undefined ? { status: 'pass' } : { status: 'ok', price: o.bid, ping_id: o.reference ?? 'ref-1' }));
      return;
    }
    const answer = (): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: o.rejectPost ? 'declined' : 'sold' }));
    if (o.holdPost) void o.holdPost().then(answer);
    else answer();
  });
  return { server: s, pings: () => s.requests.filter((r) => r.url.startsWith('/ping')), posts: () => s.requests.filter((r) => r.url.startsWith('/post')) };
}

const bidderYaml = (id: string, b: Bidder, extra = ''): string => `
  - id: ${id}
    url: "${b.server.url}/post?ref={{ping_reference}}"
    body: { name: "{{name}}", phone: "{{phone}}", price: "{{bid}}" }
    response: { accept: { status: [200], path: status, equals: sold } }
    payout: 1
    ping:
      url: "${b.server.url}/ping"
      timeoutMs: 2000
      response:
        bid: { path: price }
        accept: { status: [200], path: status, equals: ok }
        reference: { path: ping_id }
    ${extra}`;

async function auctionSystem(
  bidders: Record<string, Bidder>,
  o: { floor?: number; deadlineMs?: number; rank?: string; fallback?: string; workers?: number; caps?: Record<string, string>; supplier?: string; bidTtlMs?: number; maxSales?: number } = {},
): Promise<TestSystem> {
  const ids = Object.keys(bidders);
  const fallback = o.fallback ? `\n  - { id: direct, url: "${o.fallback}/", payout: 2 }` : '';
  return system(
    systemYaml(`
destinations:${ids.map((id) => bidderYaml(id, bidders[id] as Bidder, o.caps?.[id] ?? '')).join('')}${fallback}
routes:
  - id: auction
    strategy: auction
    auction: { floor: ${o.floor ?? 0}, deadlineMs: ${o.deadlineMs ?? 3000}, rank: ${o.rank ?? 'bid'}, bidTtlMs: ${o.bidTtlMs ?? 60000}${o.maxSales ? `, mode: shared, maxSales: ${o.maxSales}` : ''} }
    destinations: [${ids.map((id) => `{ id: ${id} }`).join(', ')}]
    fallback: [${o.fallback ? 'direct' : ''}]
`, o.supplier ?? ''),
    { workers: o.workers ?? 1 },
  );
}

const CONTACT = { name: 'Quentin Zephyrine', phone: '+14155550177', email: 'quentin.z@mail.example', ip: '198.51.100.23', click_id: 'clk-secret-42' };

const auctionEvent = (lead: LeadBody) => lead.events.find((e) => e.type === 'auction') as unknown as Record<string, unknown> & { bidders: Array<Record<string, unknown>>; ranking: Array<Record<string, unknown>> };

describe('ping-post auctions', () => {
  test('the highest bid wins: pinged at once without contact data, the post carries {{bid}} and {{ping_reference}}, the sale books the bid', async () => {
    const low = await bidder({ bid: 6.5 });
    const high = await bidder({ bid: 11.25, reference: 'hx-7' });
    const none = await bidder({});
    const sys = await auctionSystem({ low, high, none });
    const res = await sys.post({ ...CONTACT, geo: 'US', source: 'Google', zip: '94107' });
    expect(res.status).toBe(202);
    const lead = await sys.final(res.body.id as string);
    expect(lead).toMatchObject({ status: 'delivered', destination: 'high', payout: 11.25 });
    // Every bidder pinged once; no contact value in any ping, in any form.
    for (const b of [low, high, none]) {
      expect(b.pings()).toHaveLength(1);
      const ping = JSON.stringify(b.pings()[0]);
      for (const value of [CONTACT.name, 'Quentin', 'Zephyrine', CONTACT.phone, '4155550177', '555-0177', CONTACT.email, CONTACT.ip, CONTACT.click_id]) expect(ping).not.toContain(value);
    }
    expect(JSON.parse(high.pings()[0]!.body)).toEqual({ geo: 'US', source: 'Google', zip: '94107' });
    // Only the winner gets the post, with the contact data, its bid and its own ping id.
    expect([low.posts().length, high.posts().length, none.posts().length]).toEqual([0, 1, 0]);
    expect(high.posts()[0]!.url).toBe('/post?ref=hx-7');
    expect(JSON.parse(high.posts()[0]!.body)).toEqual({ name: CONTACT.name, phone: CONTACT.phone, price: 11.25 });
    const auction = auctionEvent(lead);
    expect(auction.bidders.map((b) => [b.destination, b.outcome, b.bid])).toEqual([['low', 'bid', 6.5], ['high', 'bid', 11.25], ['none', 'no_bid', undefined]]);
    expect(auction.ranking).toEqual([{ destination: 'high', bid: 11.25, value: 11.25 }, { destination: 'low', bid: 6.5, value: 6.5 }]);
    expect(lead.events.map((e) => e.type)).toEqual(['received', 'auction', 'attempt', 'delivered']);
    const metrics = await sys.metrics();
    expect(metrics).toContain('leadrouter_revenue_total{destination="high",supplier="acme"} 11.25');
    expect(metrics).toContain('leadrouter_pings_total{destination="none",outcome="no_bid"} 1');
    expect(metrics).toContain('leadrouter_bid_amount_sum{destination="high"} 11.25');
    expect(metrics).toMatch(/leadrouter_auction_duration_seconds_count 1/);
    // The supplier sees neither bids nor buyers.
    const own = (await (await fetch(`http://127.0.0.1:${sys.intake.port}/v1/leads/${lead.id}`, { headers: { 'x-api-key': KEY } })).json()) as LeadBody;
    const text = JSON.stringify(own);
    for (const secret of ['high', 'low', '11.25', '6.5', 'hx-7', 'ranking', 'bidders']) expect(text).not.toContain(secret);
    expect(own.events.map((e) => e.type)).toEqual(['received', 'auction', 'attempt', 'delivered']);
  });

  test('a winner that rejects the post: the next bidder gets it without a second ping, then the fallback', async () => {
    const picky = await bidder({ bid: 20, rejectPost: true });
    const second = await bidder({ bid: 9, rejectPost: true });
    const direct = await server((_req, res) => res.writeHead(200).end('{}'));
    const sys = await auctionSystem({ picky, second }, { fallback: direct.url });
    const lead = await sys.final((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string);
    expect(lead).toMatchObject({ status: 'delivered', destination: 'direct', payout: 2 });
    expect([picky.pings().length, second.pings().length, picky.posts().length, second.posts().length, direct.requests.length]).toEqual([1, 1, 1, 1, 1]);
    expect(lead.events.filter((e) => e.type === 'attempt').map((e) => [e.destination, e.outcome])).toEqual([['picky', 'rejected'], ['second', 'rejected'], ['direct', 'accepted']]);
  });

  test('the floor keeps lower bids out; a hanging bidder is a timeout at the deadline, a failing one an error, and the others still sell', async () => {
    const under = await bidder({ bid: 3 });
    const hanging = await bidder({ hang: true });
    const failing = await bidder({ failPing: true });
    const fair = await bidder({ bid: 5 });
    const sys = await auctionSystem({ under, hanging, failing, fair }, { floor: 5, deadlineMs: 500 });
    const lead = await sys.final((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string);
    expect(lead).toMatchObject({ status: 'delivered', destination: 'fair', payout: 5 });
    const auction = auctionEvent(lead);
    expect(auction.bidders.map((b) => [b.destination, b.outcome])).toEqual([['under', 'below_floor'], ['hanging', 'timeout'], ['failing', 'error'], ['fair', 'bid']]);
    expect(auction.bidders[2]).toMatchObject({ error: 'HTTP 500' });
    expect(auction.ranking.map((r) => r.destination)).toEqual(['fair']);
    expect([under.posts().length, hanging.posts().length, failing.posts().length]).toEqual([0, 0, 0]);
    const metrics = await sys.metrics();
    for (const [destination, outcome] of [['under', 'below_floor'], ['hanging', 'timeout'], ['failing', 'error'], ['fair', 'bid']]) {
      expect(metrics).toContain(`leadrouter_pings_total{destination="${destination}",outcome="${outcome}"} 1`);
      expect(metrics).toContain(`leadrouter_ping_duration_seconds_count{destination="${destination}"} 1`);
    }
  });

  test('a bidder whose pings keep failing opens its circuit: it is not pinged again until its cooldown ends, then one ping probes it, and an answer closes it', async () => {
    const flaky = { bid: 7, failPing: true };
    const dead = await bidder(flaky);
    const alive = await bidder({ bid: 3 });
    const sys = await auctionSystem({ dead, alive }, { caps: { dead: 'circuit: { failures: 3, cooldownMs: 1500 }' } });
    const sell = async (): Promise<LeadBody> => sys.final((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string);
    for (let i = 0; i < 5; i++) expect(await sell()).toMatchObject({ destination: 'alive' });
    // Three failures opened it: leads 4 and 5 were not pinged to it.
    expect(dead.pings()).toHaveLength(3);
    expect(await sys.metrics()).toContain('leadrouter_destination_circuit_open{destination="dead"} 1');
    const skipped = auctionEvent(await sell());
    expect(skipped.bidders.map((b) => b.destination)).toEqual(['alive']);
    // Past the cooldown it is probed by one ping; it answers now, so it is back and wins.
    flaky.failPing = false;
    await new Promise((r) => setTimeout(r, 1600));
    expect(await sell()).toMatchObject({ destination: 'dead', payout: 7 });
    expect(dead.pings()).toHaveLength(4);
    expect(await sys.metrics()).toContain('leadrouter_destination_circuit_open{destination="dead"} 0');
    expect(await sell()).toMatchObject({ destination: 'dead' });
  });

  test('an answer between ping failures forgets them: failures must come in a row to open a bidder’s circuit', async () => {
    const flaky: { bid?: number; failPing: boolean } = { failPing: true };
    const sometimes = await bidder(flaky);
    const alive = await bidder({ bid: 3 });
    const sys = await auctionSystem({ sometimes, alive }, { caps: { sometimes: 'circuit: { failures: 3, cooldownMs: 60000 }' } });
    const sell = async (): Promise<LeadBody> => sys.final((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string);
    // Two failures, a "no" (an answer, and no post whose own answer would reset the circuit), two failures.
    for (const fails of [true, true, false, true, true]) {
      flaky.failPing = fails;
      expect(await sell()).toMatchObject({ destination: 'alive' });
    }
    // Never three in a row: it is still pinged, and wins with a bid.
    flaky.failPing = false;
    flaky.bid = 7;
    expect(await sell()).toMatchObject({ destination: 'sometimes' });
    expect(sometimes.pings()).toHaveLength(6);
  });

  test('only eligible bidders are pinged: not a disabled one, nor one at its cap (checked, not reserved)', async () => {
    const off = await bidder({ bid: 30 });
    const capped = await bidder({ bid: 20 });
    const open = await bidder({ bid: 5 });
    const sys = await auctionSystem({ off, capped, open }, { caps: { off: 'enabled: false', capped: 'caps: { daily: 1 }' } });
    const sell = async (): Promise<LeadBody> => sys.final((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string);
    expect(await sell()).toMatchObject({ destination: 'capped' });
    expect(await sell()).toMatchObject({ destination: 'open' });
    expect([off.pings().length, capped.pings().length, open.pings().length]).toEqual([0, 1, 2]);
  });

  test('a bidder without response.reference: {{ping_reference}} is empty in the post', async () => {
    const s = await server((req: RecordedRequest, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(req.url.startsWith('/ping') ? JSON.stringify({ price: 4 }) : '{}');
    });
    const sys = await system(
      systemYaml(`
destinations:
  - id: plain
    url: "${s.url}/post?ref={{ping_reference}}&bid={{bid}}"
    ping: { url: "${s.url}/ping", response: { bid: { path: price } } }
routes:
  - { id: auction, strategy: auction, destinations: [{ id: plain }] }
`),
    );
    expect(await sys.final((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string)).toMatchObject({ destination: 'plain', payout: 4 });
    expect(s.requests.filter((r) => r.url.startsWith('/post')).map((r) => r.url)).toEqual(['/post?ref=&bid=4']);
  });

  test('no bid at all: the route’s fallback, at its payout; without one, unsold', async () => {
    const none = await bidder({});
    const direct = await server((_req, res) => res.writeHead(200).end('{}'));
    const sys = await auctionSystem({ none }, { fallback: direct.url });
    const lead = await sys.final((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string);
    expect(lead).toMatchObject({ status: 'delivered', destination: 'direct', payout: 2 });
  });

  test('caps stay exact when 20 workers run auctions for one capped bidder: it sells its cap, the rest fall to the other', async () => {
    const capped = await bidder({ bid: 15 });
    const other = await bidder({ bid: 5 });
    const sys = await auctionSystem({ capped, other }, { workers: 20, caps: { capped: 'caps: { daily: 7 }' } });
    const ids = await Promise.all(Array.from({ length: 40 }, async () => (await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string));
    const leads = await Promise.all(ids.map((id) => sys.final(id, 60_000)));
    const soldTo = (d: string): number => leads.filter((l) => l.status === 'delivered' && l.destination === d).length;
    expect(soldTo('capped')).toBe(7);
    expect(soldTo('other')).toBe(33);
    expect(capped.posts()).toHaveLength(7);
    // Each sale books its own winning bid.
    expect(leads.filter((l) => l.destination === 'capped').every((l) => l.payout === 15)).toBe(true);
    expect(leads.filter((l) => l.destination === 'other').every((l) => l.payout === 5)).toBe(true);
  }, 120_000);

  describe('shared leads (mode: shared, maxSales)', () => {
    type Sale = { destination: string; payout: number; status: string };
    /** The admin view once the lead has `count` sales and no try left running (all its lanes ended). */
    const withSales = async (sys: TestSystem, id: string, count: number, tries: number): Promise<LeadBody & { sales: Sale[] }> =>
      waitFor(async () => {
        const lead = (await sys.lead(id)) as LeadBody & { sales: Sale[] };
        return lead.sales?.length === count && lead.events.filter((e) => e.type === 'attempt').length === tries ? lead : undefined;
      }, 20_000, `${count} sales and ${tries} tries of ${id}`);
    const postback = async (sys: TestSystem, destination: string, params: Record<string, string>) => {
      const res = await fetch(`${sys.postbackUrl}/v1/postbacks/${destination}?${new URLSearchParams({ ...params, token: `pb-${destination}` })}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const pb = (id: string): string => `postback: { token: "pb-${id}" }`;

    test('posted to the maxSales best bidders at once, then down the ranking past a rejection: each sale its own payout, the lead delivered once', async () => {
      // `top` answers its post only once `second` has had its own: a post made after top's answer would never come.
      let secondPosted!: () => void;
      const secondArrived = new Promise<void>((resolve) => (secondPosted = resolve));
      const top = await bidder({ bid: 10, holdPost: () => secondArrived });
      const second = await bidder({ bid: 8, rejectPost: true, holdPost: async () => secondPosted() });
      const third = await bidder({ bid: 6 });
      const last = await bidder({ bid: 4 });
      const sys = await auctionSystem({ top, second, third, last }, { maxSales: 2, caps: { top: pb('top'), second: pb('second'), third: pb('third'), last: pb('last') } });
      const res = await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' }, '?wait=10');
      // ?wait answers at the first sale.
      expect(res.body).toMatchObject({ status: 'accepted', result: 'delivered' });
      const lead = await withSales(sys, res.body.id as string, 2, 3);
      expect(lead.status).toBe('delivered');
      expect([...lead.sales].sort((a, b) => a.destination.localeCompare(b.destination))).toEqual([{ destination: 'third', payout: 6, status: 'delivered' }, { destination: 'top', payout: 10, status: 'delivered' }]);
      // Each bidder pinged once; posts to top and second, then third after second's no; last never.
      expect([top, second, third, last].map((b) => [b.pings().length, b.posts().length])).toEqual([[1, 1], [1, 1], [1, 1], [1, 0]]);
      expect(JSON.parse(third.posts()[0]!.body)).toMatchObject({ price: 6 });
      expect(lead.events.filter((e) => e.type === 'delivered').map((e) => [e.destination, e.payout]).sort()).toEqual([['third', 6], ['top', 10]]);
      expect(auctionEvent(lead)).toMatchObject({ mode: 'shared', maxSales: 2 });
      const metrics = await sys.metrics();
      expect(metrics).toContain('leadrouter_revenue_total{destination="top",supplier="acme"} 10');
      expect(metrics).toContain('leadrouter_revenue_total{destination="third",supplier="acme"} 6');
      // The supplier sees no sales, buyers or bids, and that the lead was shared neither.
      const own = JSON.stringify(await (await fetch(`http://127.0.0.1:${sys.intake.port}/v1/leads/${lead.id}`, { headers: { 'x-api-key': KEY } })).json());
      for (const secret of ['"sales"', '"top"', '"third"', 'maxSales', 'shared']) expect(own).not.toContain(secret);

      // A postback applies to its own destination's sale: top converts, third returns, second (no sale) is not found.
      // Each buyer's event ids are its own: both number theirs from 1.
      expect(await postback(sys, 'top', { lead_id: lead.id, status: 'converted', payout: '12', event_id: '1' })).toMatchObject({ status: 200, body: { ok: true, status: 'converted', changed: true } });
      expect(await postback(sys, 'third', { lead_id: lead.id, status: 'returned', event_id: '1' })).toMatchObject({ status: 200, body: { ok: true, status: 'returned', changed: true } });
      expect(await postback(sys, 'top', { lead_id: lead.id, status: 'returned', event_id: '1' })).toMatchObject({ status: 200, body: { changed: false } });
      expect(await postback(sys, 'third', { lead_id: lead.id, status: 'accepted' })).toMatchObject({ status: 409, body: { reason: 'invalid_transition' } });
      expect(await postback(sys, 'second', { lead_id: lead.id, status: 'accepted' })).toMatchObject({ status: 404 });
      const after = (await sys.lead(lead.id)) as LeadBody & { sales: Sale[] };
      expect(after.status).toBe('delivered');
      expect(Object.fromEntries(after.sales.map((s) => [s.destination, [s.status, s.payout]]))).toEqual({ top: ['converted', 12], third: ['returned', 6] });
      // The postback service books the corrections: top's 2 up, third's 6 back.
      const booked = await (await fetch(`${sys.postbackUrl}/metrics`)).text();
      expect(booked).toContain('leadrouter_revenue_total{destination="top",supplier="acme"} 2');
      expect(booked).toContain('leadrouter_revenue_returned_total{destination="third",supplier="acme"} 6');
    });

    test('fewer buyers than maxSales take it: sold to those who do; nobody does: unsold, once', async () => {
      const yes = await bidder({ bid: 9 });
      const no1 = await bidder({ bid: 8, rejectPost: true });
      const no2 = await bidder({ bid: 7, rejectPost: true });
      const sys = await auctionSystem({ yes, no1, no2 }, { maxSales: 3 });
      const sold = await withSales(sys, (await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string, 1, 3);
      expect(sold).toMatchObject({ status: 'delivered', sales: [{ destination: 'yes', payout: 9, status: 'delivered' }] });

      const none1 = await bidder({ bid: 8, rejectPost: true });
      const none2 = await bidder({ bid: 7, rejectPost: true });
      const nobody = await auctionSystem({ none1, none2 }, { maxSales: 2 });
      const unsold = await nobody.final((await nobody.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string);
      expect(unsold).toMatchObject({ status: 'unsold', reason: 'all_rejected', sales: [] });
      expect(unsold.events.filter((e) => e.type === 'unsold')).toHaveLength(1);
      expect([none1.posts().length, none2.posts().length]).toEqual([1, 1]);
    });

    test('the supplier hears of each sale with its own payout (a share of each bid)', async () => {
      const heard = await server((_req, res) => res.writeHead(200).end('ok'));
      const a = await bidder({ bid: 10 });
      const b = await bidder({ bid: 6 });
      const sys = await auctionSystem({ a, b }, { maxSales: 2, supplier: `supplierPayout: { share: 0.5 }\npostbackUrl: "${heard.url}/n?s={status}&p={payout}"` });
      await withSales(sys, (await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string, 2, 2);
      const urls = await waitFor(() => (heard.requests.length >= 2 ? heard.requests.map((r) => r.url).sort() : undefined), 10_000, 'two notifications');
      expect(urls).toEqual(['/n?s=delivered&p=3', '/n?s=delivered&p=5']);
    });

    test('caps stay exact with 20 workers selling shared leads: the capped bidder sells its cap, each lead at most once to each buyer', async () => {
      const capped = await bidder({ bid: 15 });
      const other = await bidder({ bid: 5 });
      const third = await bidder({ bid: 3 });
      const sys = await auctionSystem({ capped, other, third }, { workers: 20, maxSales: 2, caps: { capped: 'caps: { daily: 7 }' } });
      const ids = await Promise.all(Array.from({ length: 30 }, async () => (await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string));
      const leads = await Promise.all(ids.map((id) => withSales(sys, id, 2, 2)));
      const sales = leads.flatMap((l) => l.sales.map((s) => s.destination));
      expect(sales.filter((d) => d === 'capped')).toHaveLength(7);
      expect(capped.posts()).toHaveLength(7);
      expect(leads.every((l) => new Set(l.sales.map((s) => s.destination)).size === 2)).toBe(true);
      expect(sales.filter((d) => d === 'other')).toHaveLength(30);
      expect(sales.filter((d) => d === 'third')).toHaveLength(23);
    }, 120_000);
  });

  describe('supplier pings (POST /v1/pings, then the lead with its ping_id)', () => {
    const ping = async (sys: TestSystem, body: Record<string, unknown>, key = KEY) => {
      const res = await fetch(`http://127.0.0.1:${sys.intake.port}/v1/pings`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    test('the round trip: a bid for the supplier, then the lead goes to the ping’s bidders in order, none pinged again; the ping is used once', async () => {
      const low = await bidder({ bid: 6 });
      const high = await bidder({ bid: 14, reference: 'h-1' });
      const sys = await auctionSystem({ low, high }, { supplier: 'supplierPayout: 8' });
      // Contact fields sent with a ping are dropped unread: no bidder sees them.
      const answer = await ping(sys, { geo: 'us', source: 'Google', zip: '94107', name: CONTACT.name, phone: CONTACT.phone, email: CONTACT.email });
      expect(answer).toEqual({ status: 200, body: { status: 'bid', pingId: expect.stringMatching(/^[0-9A-Z]{26}$/), payout: 8, expiresAt: expect.any(String) } });
      for (const b of [low, high]) {
        expect(b.pings()).toHaveLength(1);
        expect(JSON.parse(b.pings()[0]!.body)).toEqual({ geo: 'US', source: 'Google', zip: '94107' });
      }
      const pingId = answer.body.pingId as string;
      // Posted with an Idempotency-Key, as a careful supplier does, and a field of its own named `bid`.
      const postOnce = async () => {
        const res = await fetch(`http://127.0.0.1:${sys.intake.port}/v1/leads`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'idempotency-key': 'lead-77' },
          body: JSON.stringify({ ...CONTACT, geo: 'US', source: 'google', zip: '94107', bid: 0.01, ping_id: pingId }),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const posted = await postOnce();
      expect(posted.status).toBe(202);
      // A retry (the answer was lost on the way) gets the first answer, not a 400 for a used ping.
      expect(await postOnce()).toEqual(posted);
      const lead = await sys.final(posted.body.id as string);
      expect(lead).toMatchObject({ status: 'delivered', destination: 'high', payout: 14 });
      expect([low.pings().length, high.pings().length]).toEqual([1, 1]);
      expect(high.posts()[0]!.url).toBe('/post?ref=h-1');
      // {{bid}} is the winning bid, never the supplier's own field of that name.
      expect(JSON.parse(high.posts()[0]!.body)).toMatchObject({ price: 14 });
      const auction = auctionEvent(lead);
      expect(auction).toMatchObject({ pingId, ranking: [{ destination: 'high', bid: 14, value: 14 }, { destination: 'low', bid: 6, value: 6 }] });
      // `ping_id` is not a field of the lead: the buyer never sees it.
      expect(high.posts()[0]!.body).not.toContain(pingId);
      // Used once.
      const again = await sys.post({ ...CONTACT, phone: uniquePhone(), geo: 'US', source: 'Google', ping_id: pingId });
      expect(again).toEqual({ status: 400, body: { status: 'rejected', reason: 'invalid', errors: [{ field: 'ping_id', message: 'unknown, expired or already used' }] } });
    });

    test('a field that differs from the ping’s is refused on ping_id (the ping stays usable); an unknown or expired one too; a ping with no bid says so', async () => {
      const b = await bidder({ bid: 9 });
      const sys = await auctionSystem({ b }, { bidTtlMs: 1000 });
      const { body } = await ping(sys, { geo: 'US', source: 'Google', zip: '94107' });
      const pingId = body.pingId as string;
      const differs = await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google', zip: '10001', ping_id: pingId });
      expect(differs).toMatchObject({ status: 400, body: { errors: [{ field: 'ping_id', message: "the lead's zip differs from its ping's" }] } });
      const geo = await sys.post({ name: 'Ann Bee', phone: '+442079460958', geo: 'GB', source: 'Google', ping_id: pingId });
      expect(geo).toMatchObject({ status: 400, body: { errors: [{ field: 'ping_id', message: "the lead's geo differs from its ping's" }] } });
      expect((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google', ping_id: '01ZZZZZZZZZZZZZZZZZZZZZZZZ' })).body).toMatchObject({ errors: [{ field: 'ping_id' }] });
      expect((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google', ping_id: 42 })).body).toMatchObject({ errors: [{ field: 'ping_id' }] });
      const used = await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google', zip: '94107', ping_id: pingId });
      expect(used.status).toBe(202);
      // bidTtlMs: 1 s here.
      const late = (await ping(sys, { geo: 'US', source: 'Google' })).body.pingId as string;
      await new Promise((r) => setTimeout(r, 1_300));
      expect((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google', ping_id: late })).body).toMatchObject({ errors: [{ field: 'ping_id', message: 'unknown, expired or already used' }] });
      // No bidder bidding: no bid, and nothing held.
      const quiet = await auctionSystem({ n: await bidder({}) });
      expect((await ping(quiet, { geo: 'US', source: 'Google' })).body).toEqual({ status: 'no_bid' });
    });

    test('a supplier paid a share is offered its share of the best bid; on a shared route, of the maxSales best', async () => {
      const b = await bidder({ bid: 14 });
      const sys = await auctionSystem({ b }, { supplier: 'supplierPayout: { share: 0.75 }' });
      expect((await ping(sys, { geo: 'US', source: 'Google' })).body).toMatchObject({ status: 'bid', payout: 10.5 });
      const [x, y, z] = [await bidder({ bid: 10 }), await bidder({ bid: 6 }), await bidder({ bid: 2 })];
      const shared = await auctionSystem({ x, y, z }, { maxSales: 2, supplier: 'supplierPayout: { share: 0.5 }' });
      expect((await ping(shared, { geo: 'US', source: 'Google' })).body).toMatchObject({ status: 'bid', payout: 8 });
    });

    test('a ping is answered by its deadline whatever a bidder does, and pings are never deduped: the same ping twice gets two bids', async () => {
      const hanging = await bidder({ hang: true });
      const fair = await bidder({ bid: 5 });
      // The bidders' own ping timeout is 2 s (bidderYaml): the route's 300 ms deadline decides.
      const sys = await auctionSystem({ hanging, fair }, { deadlineMs: 300 });
      const started = Date.now();
      const first = await ping(sys, { geo: 'US', source: 'Google', zip: '94107' });
      expect(Date.now() - started).toBeLessThan(1_500);
      const second = await ping(sys, { geo: 'US', source: 'Google', zip: '94107' });
      expect([first.body.status, second.body.status]).toEqual(['bid', 'bid']);
      expect(first.body.pingId).not.toBe(second.body.pingId);
      expect(fair.pings()).toHaveLength(2);
    });

    test('pings are checked like leads (every problem named), need a supplier key, and have their own rate limit', async () => {
      const b = await bidder({ bid: 9 });
      const sys = await auctionSystem({ b }, { supplier: 'rateLimit: { perSecond: 1000, pingsPerSecond: 2 }' });
      expect(await ping(sys, { source: '', geo: 'XX', 'bad name': 1, __proto__x: { a: 1 } })).toEqual({
        status: 400,
        body: {
          status: 'rejected',
          reason: 'invalid',
          errors: expect.arrayContaining([{ field: 'geo', message: 'must be an ISO 3166-1 alpha-2 country code' }, { field: 'source', message: 'must be text of 1 to 100 characters' }, { field: 'bad name', message: 'field names must match ^[A-Za-z0-9_.-]{1,64}$' }]),
        },
      });
      expect((await ping(sys, { geo: 'US', source: 'Google' }, 'wrong-key')).status).toBe(401);
      const burst = await Promise.all([1, 2, 3, 4].map(() => ping(sys, { geo: 'US', source: 'Google' })));
      expect(burst.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(1);
      // Leads keep their own limit.
      expect((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).status).toBe(202);
    });
  });
});
