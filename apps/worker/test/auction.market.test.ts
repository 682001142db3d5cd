import type { ServerResponse } from 'node:http';
import { describe, expect, test } from '@jest/globals';
import type { RecordedRequest } from '@leadrouter/testing';
import { closedAfterEach, systemYaml, uniquePhone } from '@leadrouter/testing/system';

/**
 * A small, deterministic auction market in `npm test` (issue #15): a cherry-picker bids 20 and
 * then returns four of every five leads it buys; a steady buyer bids 12 and keeps them all.
 * Ranked by bid, the cherry-picker wins every auction and the business keeps a fifth of 20 per
 * lead. Ranked by expected value (bid x the learnt chance the buyer keeps the lead), the returns
 * teach LeadRouter within a few leads that the steady buyer is worth more.
 */
const { server, system } = closedAfterEach();

const LEADS = 60;

async function market(rank: 'bid' | 'expected'): Promise<{ net: number; toCherry: number; toSteady: number }> {
  const bidder = (bid: number) => (req: RecordedRequest, res: ServerResponse): void => {
    const body = req.url.startsWith('/ping') ? { status: 'ok', price: bid } : { status: 'sold' };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const cherry = await server(bidder(20));
  const steady = await server(bidder(12));
  const destination = (id: string, url: string): string => `
  - id: ${id}
    url: "${url}/post"
    response: { accept: { status: [200], path: status, equals: sold } }
    postback: { token: "pb-${id}" }
    ping: { url: "${url}/ping", response: { bid: { path: price }, accept: { status: [200], path: status, equals: ok } } }`;
  const sys = await system(
    systemYaml(`
destinations:${destination('cherry', cherry.url)}${destination('steady', steady.url)}
routes:
  - id: market
    strategy: auction
    auction: { rank: ${rank} }
    destinations: [{ id: cherry }, { id: steady }]
`),
  );
  let net = 0;
  let cherrySales = 0;
  let toSteady = 0;
  for (let i = 0; i < LEADS; i++) {
    const lead = await sys.final((await sys.post({ name: 'Mark Et', phone: uniquePhone(), geo: 'US', source: 'Google' })).body.id as string);
    expect(lead.status).toBe('delivered');
    if (lead.destination === 'steady') {
      toSteady += 1;
      net += lead.payout ?? 0;
      continue;
    }
    cherrySales += 1;
    // The cherry-picker keeps one lead in five: the others come back as returns.
    if (cherrySales % 5 === 0) {
      net += lead.payout ?? 0;
      continue;
    }
    const answer = await fetch(`${sys.postbackUrl}/v1/postbacks/cherry?${new URLSearchParams({ lead_id: lead.id, status: 'returned', token: 'pb-cherry' })}`);
    expect(answer.status).toBe(200);
  }
  return { net, toCherry: cherrySales, toSteady };
}

describe('an auction market with a cherry-picker', () => {
  test('ranking by expected value earns more than ranking by bid, on the same leads', async () => {
    const byBid = await market('bid');
    const byExpected = await market('expected');
    // By bid: the cherry-picker wins all 60 and keeps 12 of them.
    expect(byBid).toEqual({ net: 12 * 20, toCherry: LEADS, toSteady: 0 });
    // By expected value: a few leads to learn, then the steady buyer.
    expect(byExpected.toCherry).toBeLessThan(10);
    expect(byExpected.toSteady).toBe(LEADS - byExpected.toCherry);
    expect(byExpected.net).toBeGreaterThan(2.5 * byBid.net);
  }, 120_000);
});
