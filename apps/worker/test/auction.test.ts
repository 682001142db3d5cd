import type { ServerResponse } from 'node:http';
import { describe, expect, test } from '@jest/globals';
import type { RecordedRequest, TestServer } from '@leadrouter/testing';
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

/** A bidder that bids `bid` (or hangs when `hang`), then accepts the post unless `rejectPost`. */
async function bidder(o: { bid?: number; hang?: boolean; rejectPost?: boolean; reference?: string }): Promise<Bidder> {
  const s = await server((req: RecordedRequest, res: ServerResponse) => {
    if (req.url.startsWith('/ping')) {
      if (o.hang) return; // never answers: the auction's deadline decides
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o.bid === undefined ? { status: 'pass' } : { status: 'ok', price: o.bid, ping_id: o.reference ?? 'ref-1' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: o.rejectPost ? 'declined' : 'sold' }));
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

async function auctionSystem(bidders: Record<string, Bidder>, o: { floor?: number; deadlineMs?: number; rank?: string; fallback?: string; workers?: number; caps?: Record<string, string> } = {}): Promise<TestSystem> {
  const ids = Object.keys(bidders);
  const fallback = o.fallback ? `\n  - { id: direct, url: "${o.fallback}/", payout: 2 }` : '';
  return system(
    systemYaml(`
destinations:${ids.map((id) => bidderYaml(id, bidders[id] as Bidder, o.caps?.[id] ?? '')).join('')}${fallback}
routes:
  - id: auction
    strategy: auction
    auction: { floor: ${o.floor ?? 0}, deadlineMs: ${o.deadlineMs ?? 3000}, rank: ${o.rank ?? 'bid'} }
    destinations: [${ids.map((id) => `{ id: ${id} }`).join(', ')}]
    fallback: [${o.fallback ? 'direct' : ''}]
`),
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

  test('the floor keeps lower bids out; a hanging bidder is a timeout at the deadline, and the others still sell', async () => {
    const under = await bidder({ bid: 3 });
    const hanging = await bidder({ hang: true });
    const fair = await bidder({ bid: 5 });
    const sys = await auctionSystem({ under, hanging, fair }, { floor: 5, deadlineMs: 500 });
    const lead = await sys.final((await sys.post({ name: 'Ann Bee', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string);
    expect(lead).toMatchObject({ status: 'delivered', destination: 'fair', payout: 5 });
    const auction = auctionEvent(lead);
    expect(auction.bidders.map((b) => [b.destination, b.outcome])).toEqual([['under', 'below_floor'], ['hanging', 'timeout'], ['fair', 'bid']]);
    expect(auction.ranking.map((r) => r.destination)).toEqual(['fair']);
    expect(under.posts()).toHaveLength(0);
    expect(hanging.posts()).toHaveLength(0);
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
});
