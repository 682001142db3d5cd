import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { resolveDestination, type ResolvedPing } from '@leadrouter/config';
import { CONTACT_FIELDS, type Lead } from '@leadrouter/lead';
import { buildPingRequest, buildRequest, rankBids, readPingReply, type PingAnswer } from '../src/index.js';

const lead = (overrides: Partial<Lead> = {}): Lead => ({
  id: '01JD3W6Z8Q4X5Y6Z7A8B9C0D1E',
  supplier: 'acme',
  createdAt: Date.parse('2026-11-25T12:00:00Z'),
  quality: 0.8,
  name: 'Mary Ann Smith',
  phone: '+12025550143',
  phoneNational: '(202) 555-0143',
  geo: 'US',
  source: 'Google',
  email: 'mary@example.com',
  click_id: 'clk-77',
  ip: '203.0.113.9',
  fields: { zip: '94107', street: '1 Main St', age: 42 },
  ...overrides,
});

const ping = (overrides: Record<string, unknown> = {}): ResolvedPing =>
  resolveDestination({ id: 'x', url: 'https://x.example/post', ping: { url: 'https://x.example/ping', response: { bid: { path: 'price' } }, ...overrides } as never }).ping as ResolvedPing;

const reply = (status: number, body: unknown) => ({ status, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), truncated: false });

describe('a ping carries no contact data (contract §9)', () => {
  test('without a body: the lead minus its contact fields and ping.omit', () => {
    const request = buildPingRequest(ping({ omit: ['street'] }), lead());
    expect(JSON.parse(request.body as string)).toEqual({ geo: 'US', source: 'Google', zip: '94107', age: 42 });
    expect(request.headers['x-lead-id']).toBe('01JD3W6Z8Q4X5Y6Z7A8B9C0D1E');
    expect(request.headers['idempotency-key']).toBeUndefined();
  });

  test('a template naming contact data gets nothing (the config check refuses such templates too)', () => {
    const request = buildPingRequest(ping({ url: 'https://x.example/ping?p={{phone}}', body: { who: '{{name}}', zip: '{{zip}}', tel: '{{phone_national}}' } }), lead());
    expect(request.url).toBe('https://x.example/ping?p=');
    expect(JSON.parse(request.body as string)).toEqual({ who: '', zip: '94107', tel: '' });
  });

  test('property: whatever the lead, no contact value appears anywhere in the ping (URL, headers, body), in any format', () => {
    const text = fc.string({ minLength: 6, maxLength: 20 }).filter((s) => /^[A-Za-z0-9]+$/.test(s));
    fc.assert(
      fc.property(text, text, text, fc.constantFrom('json', 'form'), fc.constantFrom('POST', 'GET'), (name, mail, clickId, format, method) => {
        const l = lead({ name: `Zq${name} Xv${name}`, email: `${mail}@mail.example`, click_id: `c${clickId}`, phone: '+12025550143', phoneNational: '(202) 555-0143' });
        const request = buildPingRequest(ping({ format, method }), l);
        const all = [request.url, JSON.stringify(request.headers), request.body ?? ''].join(' ');
        for (const value of [l.name, `Zq${name}`, `Xv${name}`, l.email, l.click_id, l.ip, '2025550143', '555-0143']) expect(all.includes(String(value))).toBe(false);
        expect(CONTACT_FIELDS.every((f) => !new RegExp(`\\b${f}\\b`).test(request.body ?? ''))).toBe(true);
      }),
    );
  });

  test('the post to the winner may name {{bid}} and {{ping_reference}}', () => {
    const d = resolveDestination({ id: 'x', url: 'https://x.example/post?ref={{ping_reference}}', body: { price: '{{bid}}', phone: '{{phone}}' } });
    const request = buildRequest(d, lead(), { bid: 12.5, ping_reference: 'r-9' });
    expect(request.url).toBe('https://x.example/post?ref=r-9');
    expect(JSON.parse(request.body as string)).toEqual({ price: 12.5, phone: '+12025550143' });
  });
});

describe('readPingReply', () => {
  test.each([
    ['a bid', reply(200, { price: 9.5 }), { outcome: 'bid', bid: 9.5 }],
    ['a bid as text', reply(200, { price: '7.25' }), { outcome: 'bid', bid: 7.25 }],
    ['zero', reply(200, { price: 0 }), { outcome: 'no_bid' }],
    ['under a cent: rounds to 0, no bid', reply(200, { price: 0.004 }), { outcome: 'no_bid' }],
    ['a fraction of a cent: to the cent', reply(200, { price: 7.126 }), { outcome: 'bid', bid: 7.13 }],
    ['negative', reply(200, { price: -3 }), { outcome: 'no_bid' }],
    ['no bid field', reply(200, { nope: true }), { outcome: 'no_bid' }],
    ['not a number', reply(200, { price: '1e3' }), { outcome: 'no_bid' }],
    ['a 4xx', reply(404, ''), { outcome: 'no_bid' }],
    ['a 5xx', reply(503, ''), { outcome: 'error', error: 'HTTP 503' }],
    ['not JSON', reply(200, '<html>'), { outcome: 'error', error: 'HTTP 200: the reply is not JSON' }],
    ['absurd', reply(200, { price: 5e9 }), { outcome: 'error', error: 'bid 5000000000 above 1000000' }],
  ] as const)('%s', (_name, r, expected) => {
    expect(readPingReply(ping(), r)).toEqual(expected);
  });

  test('the accept rule must hold; the reference is read, and refused when it is not a short printable token', () => {
    const rules = ping({ response: { bid: { path: 'price' }, accept: { status: [200], path: 'status', equals: 'ok' }, reference: { path: 'id' } } });
    expect(readPingReply(rules, reply(200, { status: 'ok', price: 4, id: 'abc-1' }))).toEqual({ outcome: 'bid', bid: 4, reference: 'abc-1' });
    expect(readPingReply(rules, reply(200, { status: 'no', price: 4, id: 'abc-1' }))).toEqual({ outcome: 'no_bid' });
    expect(readPingReply(rules, reply(200, { status: 'ok', price: 4, id: 'a b\r\nX-Evil: 1' }))).toEqual({ outcome: 'bid', bid: 4 });
  });
});

describe('rankBids', () => {
  const answer = (bid: number): PingAnswer => ({ outcome: 'bid', bid });

  test('by bid: the floor excludes lower bids; timeouts, no bids and errors are out; ties keep the route’s order', () => {
    const { bidders, ranking } = rankBids(
      [
        { destination: 'a', answer: answer(8), durationMs: 10 },
        { destination: 'b', answer: answer(3), durationMs: 11 },
        { destination: 'c', answer: 'timeout', durationMs: 900 },
        { destination: 'd', answer: { outcome: 'no_bid' }, durationMs: 5 },
        { destination: 'e', answer: answer(8), durationMs: 12 },
        { destination: 'f', answer: answer(12), durationMs: 9 },
      ],
      { floor: 5, rank: 'bid' },
      new Map(),
    );
    expect(ranking.map((r) => r.destination)).toEqual(['f', 'a', 'e']);
    expect(bidders.map((b) => [b.destination, b.outcome])).toEqual([['a', 'bid'], ['b', 'below_floor'], ['c', 'timeout'], ['d', 'no_bid'], ['e', 'bid'], ['f', 'bid']]);
  });

  test('by expected value: a high bidder that rarely keeps the lead ranks below a steady one', () => {
    const { ranking } = rankBids(
      [
        { destination: 'cherry', answer: answer(20), durationMs: 1 },
        { destination: 'steady', answer: answer(12), durationMs: 1 },
      ],
      { floor: 0, rank: 'expected' },
      new Map([['cherry', 0.3], ['steady', 0.9]]),
    );
    expect(ranking).toEqual([
      { destination: 'steady', bid: 12, value: 10.8 },
      { destination: 'cherry', bid: 20, value: 6 },
    ]);
  });

  test('property: the ranking holds each bid at or above the floor once, sorted by value', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }), { maxLength: 8 }), fc.integer({ min: 0, max: 50 }), fc.constantFrom('bid', 'expected'), (bids, floor, rank) => {
        const answers = bids.map((cents, i) => ({ destination: `d${i}`, answer: cents === undefined ? ('timeout' as const) : answer(cents / 100), durationMs: 1 }));
        const acceptance = new Map(bids.map((_b, i) => [`d${i}`, ((i * 37) % 100) / 100]));
        const { bidders, ranking } = rankBids(answers, { floor, rank }, acceptance);
        expect(bidders).toHaveLength(bids.length);
        expect(new Set(ranking.map((r) => r.destination)).size).toBe(ranking.length);
        expect(ranking.every((r) => r.bid >= floor)).toBe(true);
        expect(ranking.length).toBe(bids.filter((c) => c !== undefined && c / 100 >= floor).length);
        for (let i = 1; i < ranking.length; i++) expect((ranking[i - 1] as { value: number }).value).toBeGreaterThanOrEqual((ranking[i] as { value: number }).value);
      }),
    );
  });
});
