import { createHmac } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startTestServer, waitFor, type TestServer } from '@leadrouter/testing';
import { startSystem, systemYaml, uniquePhone, type TestSystem } from '@leadrouter/testing/system';

const TOKEN = 'pb-token-1';
const OTHER_TOKEN = 'pb-token-2';
const SECRET = `whsec_${Buffer.from('a-very-secret-key-for-tests').toString('base64')}`;
const OLD_SECRET_KEY = Buffer.from('the-previous-secret');

let sys: TestSystem;
let buyer: TestServer;
let tracker: TestServer;
/** The tracker answers 500 to the first `failFirst` requests of each status. */
const failuresLeft = new Map<string, number>();
/** What the eager buyer's postback, sent before it answers the delivery, got back. */
const eagerAnswers = new Map<string, { status: number; body: Record<string, unknown> }>();
/** A postback for the same queued lead from a destination outside its plan: its status, and whether it came before the sale. */
const outsiderAnswers = new Map<string, { status: number; beforeTheSale?: boolean }>();

beforeAll(async () => {
  buyer = await startTestServer(async (req, res: ServerResponse) => {
    if (req.url === '/eager') {
      // Sends its postback first and only then answers the delivery, 300 ms later: the postback
      // reaches LeadRouter before the sale is recorded.
      const leadId = String(req.headers['x-lead-id']);
      const answered = fetch(`${sys.postbackUrl}/v1/postbacks/eager?${new URLSearchParams({ lead_id: leadId, status: 'accepted', token: TOKEN })}`).then(async (r) =>
        eagerAnswers.set(leadId, { status: r.status, body: (await r.json()) as Record<string, unknown> }),
      );
      void fetch(`${sys.postbackUrl}/v1/postbacks/other?${new URLSearchParams({ lead_id: leadId, status: 'accepted', token: OTHER_TOKEN })}`).then(async (r) => {
        await r.arrayBuffer();
        outsiderAnswers.set(leadId, { status: r.status });
      });
      await new Promise((r) => setTimeout(r, 300));
      const outsider = outsiderAnswers.get(leadId);
      if (outsider) outsider.beforeTheSale = true;
      res.writeHead(200).end('{}');
      await answered;
      return;
    }
    res.writeHead(200).end('{}');
  });
  tracker = await startTestServer((req, res) => {
    const status = new URL(req.url, 'http://x').searchParams.get('s') ?? '';
    const left = failuresLeft.get(status) ?? 0;
    if (left > 0) {
      failuresLeft.set(status, left - 1);
      res.writeHead(500).end();
    } else res.writeHead(200).end('ok');
  });
  sys = await startSystem(
    systemYaml(
      `
destinations:
  - id: buyer
    url: "${buyer.url}/"
    payout: 12.5
    postback: { token: "${TOKEN}", statusMap: { approved: accepted, sale: converted, refund: returned } }
  - id: other
    url: "${buyer.url}/other"
    postback: { token: "${OTHER_TOKEN}" }
  - id: signed
    url: "${buyer.url}/signed"
    payout: 5
    postback: { secret: "${SECRET}" }
  - id: eager
    url: "${buyer.url}/eager"
    payout: 7
    postback: { token: "${TOKEN}" }
routes:
  - id: to-eager
    match: { source: [Eager] }
    destinations: [{ id: eager }]
  - id: to-signed
    match: { source: [Signed] }
    destinations: [{ id: signed }]
  - id: to-buyer
    match: { source: [Facebook] }
    destinations: [{ id: buyer }]
`,
      `postbackUrl: "${'${TRACKER}'}/pb?cid={click_id}&s={status}&p={payout}&lead={lead_id}&src={source}&geo={geo}"
postbackStatusMap: { delivered: lead, converted: sale, returned: rejected }
supplierPayout: 8`,
    ).replace('${TRACKER}', tracker.url),
  );
});
afterAll(async () => {
  await sys.close();
  await buyer.close();
  await tracker.close();
});

async function soldLead(source = 'Facebook', extra: Record<string, unknown> = {}): Promise<string> {
  const res = await sys.post({ name: 'Post Back', phone: uniquePhone(), geo: 'US', source, ...extra });
  const lead = await sys.final(res.body.id as string);
  expect(lead.status).toBe('delivered');
  return lead.id;
}

type Answer = { status: number; body: Record<string, unknown> };
async function postback(
  destination: string,
  params: Record<string, string>,
  how: 'query' | 'form' | 'json' = 'query',
  headers: Record<string, string> = {},
): Promise<Answer> {
  const url = `${sys.postbackUrl}/v1/postbacks/${destination}`;
  let res: Response;
  if (how === 'query') res = await fetch(`${url}?${new URLSearchParams(params)}`, { headers });
  else if (how === 'form') {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params).toString() });
  } else res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(params) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function signedHeaders(body: string, options: { id?: string; timestamp?: number; keys?: Buffer[] } = {}): Record<string, string> {
  const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const keys = options.keys ?? [Buffer.from(SECRET.slice(6), 'base64')];
  const signatures = keys.map((key) => `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`);
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
}

async function signedPost(body: Record<string, unknown>, options: Parameters<typeof signedHeaders>[1] = {}): Promise<Answer> {
  const text = JSON.stringify(body);
  const res = await fetch(`${sys.postbackUrl}/v1/postbacks/signed`, { method: 'POST', headers: signedHeaders(text, options), body: text });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('postbacks (contract §5)', () => {
  test('transitions by query, form and JSON; a repeat is changed:false; a disallowed change is 409; all of them are lead events', async () => {
    const id = await soldLead();
    const accepted = await postback('buyer', { lead_id: id, status: 'approved', token: TOKEN });
    expect(accepted).toEqual({ status: 200, body: { ok: true, leadId: id, status: 'accepted', changed: true } });
    expect(await postback('buyer', { lead_id: id, status: 'accepted', token: TOKEN })).toEqual({
      status: 200,
      body: { ok: true, leadId: id, status: 'accepted', changed: false },
    });
    expect((await postback('buyer', { lead_id: id, status: 'sale', token: TOKEN }, 'form')).body).toMatchObject({ status: 'converted', changed: true });
    expect((await postback('buyer', { lead_id: id, status: 'returned' }, 'json', { 'x-postback-token': TOKEN })).body).toMatchObject({
      status: 'returned',
      changed: true,
    });
    const refused = await postback('buyer', { lead_id: id, status: 'accepted', token: TOKEN });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ ok: false, reason: 'invalid_transition' });
    const lead = await sys.lead(id);
    expect(lead.status).toBe('returned');
    const postbacks = lead.events.filter((e) => e.type === 'postback');
    expect(postbacks.map((e) => [e.status, e.result])).toEqual([
      ['accepted', 'applied'],
      ['accepted', 'duplicate'],
      ['converted', 'applied'],
      ['returned', 'applied'],
      ['accepted', 'invalid_transition'],
    ]);
    expect(postbacks[0]).toMatchObject({ received: 'approved', destination: 'buyer' });
  });

  test('400 names the problem (missing or unknown status, bad payout, no lead_id); 401 for a wrong or missing token', async () => {
    const id = await soldLead();
    const invalid = async (params: Record<string, string>, field: string): Promise<void> => {
      const res = await postback('buyer', { token: TOKEN, ...params });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ ok: false, reason: 'invalid' });
      expect((res.body.errors as { field: string }[]).map((e) => e.field)).toEqual([field]);
    };
    await invalid({ lead_id: id }, 'status');
    await invalid({ lead_id: id, status: 'paid' }, 'status');
    await invalid({ lead_id: id, status: 'accepted', payout: '-1' }, 'payout');
    await invalid({ lead_id: id, status: 'accepted', payout: 'ten' }, 'payout');
    await invalid({ status: 'accepted' }, 'lead_id');
    for (const params of [{ lead_id: id, status: 'accepted', token: 'wrong' }, { lead_id: id, status: 'accepted' }] as Record<string, string>[]) {
      expect(await postback('buyer', params)).toEqual({ status: 401, body: { ok: false, reason: 'unauthorized' } });
    }
    expect((await sys.lead(id)).status).toBe('delivered');
    expect((await sys.lead(id)).events.filter((e) => e.type === 'postback' && e.result === 'invalid')).toHaveLength(4);
  });

  test('a postback sent before LeadRouter has recorded the sale waits for it and is applied', async () => {
    const res = await sys.post({ name: 'Eager Buyer', phone: uniquePhone(), geo: 'US', source: 'Eager' });
    const id = res.body.id as string;
    await waitFor(() => eagerAnswers.get(id), 10_000, "the eager buyer's postback answer");
    expect(eagerAnswers.get(id)).toEqual({ status: 200, body: { ok: true, leadId: id, status: 'accepted', changed: true } });
    const lead = await sys.lead(id);
    expect(lead.status).toBe('accepted');
    expect(lead.events.filter((e) => e.type === 'postback').map((e) => e.result)).toEqual(['applied']);
    // Only a destination in the lead's plan waits: another one is answered 404 while the lead is still queued.
    const outsider = await waitFor(() => outsiderAnswers.get(id), 10_000, 'the outsider postback answer');
    expect(outsider).toEqual({ status: 404, beforeTheSale: true });
  });

  test("404 for an unknown lead, another destination's lead and an unknown destination: no one learns which ids exist", async () => {
    const id = await soldLead();
    expect(await postback('buyer', { lead_id: '01ARZ3NDEKTSV4RRFFQ69G5FAV', status: 'accepted', token: TOKEN })).toEqual({
      status: 404,
      body: { ok: false, reason: 'not_found' },
    });
    expect((await postback('other', { lead_id: id, status: 'accepted', token: OTHER_TOKEN })).status).toBe(404);
    expect((await postback('nobody', { lead_id: id, status: 'accepted', token: TOKEN })).status).toBe(404);
    expect((await sys.lead(id)).status).toBe('delivered');
  });

  test('event_id makes a retry safe: the same event again changes and counts nothing', async () => {
    const id = await soldLead();
    const before = await sys.metrics();
    const count = (text: string): number =>
      Number(/leadrouter_postbacks_total\{destination="buyer",source="Facebook",status="accepted",result="applied"\} (\d+)/.exec(text)?.[1] ?? 0);
    expect((await postback('buyer', { lead_id: id, status: 'accepted', event_id: 'e-1', token: TOKEN })).body.changed).toBe(true);
    expect((await postback('buyer', { lead_id: id, status: 'rejected', event_id: 'e-1', token: TOKEN })).body).toMatchObject({
      changed: false,
      status: 'accepted',
    });
    const after = await sys.metrics();
    expect(count(after) - count(before)).toBe(1);
    expect(after).toMatch(/leadrouter_postbacks_total\{destination="buyer",source="Facebook",status="rejected",result="duplicate"\} [1-9]/);
  });

  test('revenue: booked at sale, corrected by a postback payout both ways, taken back on returned', async () => {
    // Summed over every process: sales are booked by the worker, corrections by the postback service.
    const metric = (text: string, name: string): number =>
      [...text.matchAll(new RegExp(`${name}\\{destination="buyer",supplier="acme"\\} ([\\d.]+)`, 'g'))].reduce((sum, m) => sum + Number(m[1]), 0);
    const before = await sys.metrics();
    const id = await soldLead();
    const sold = await sys.metrics();
    expect(metric(sold, 'leadrouter_revenue_total') - metric(before, 'leadrouter_revenue_total')).toBeCloseTo(12.5);
    await postback('buyer', { lead_id: id, status: 'accepted', payout: '15', token: TOKEN });
    await postback('buyer', { lead_id: id, status: 'converted', payout: '11', token: TOKEN });
    await postback('buyer', { lead_id: id, status: 'returned', token: TOKEN });
    const after = await sys.metrics();
    expect(metric(after, 'leadrouter_revenue_total') - metric(before, 'leadrouter_revenue_total')).toBeCloseTo(15);
    expect(metric(after, 'leadrouter_revenue_returned_total') - metric(before, 'leadrouter_revenue_returned_total')).toBeCloseTo(4 + 11);
  });

  test('Standard Webhooks signatures: valid and rotated pass; wrong, stale or missing ones are 401; webhook-id dedupes', async () => {
    const id = await soldLead('Signed');
    expect(await signedPost({ lead_id: id, status: 'accepted' }, { keys: [Buffer.from('wrong')] })).toEqual({
      status: 401,
      body: { ok: false, reason: 'unauthorized' },
    });
    expect((await signedPost({ lead_id: id, status: 'accepted' }, { timestamp: Math.floor(Date.now() / 1000) - 301 })).status).toBe(401);
    const unsigned = await fetch(`${sys.postbackUrl}/v1/postbacks/signed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lead_id: id, status: 'accepted' }),
    });
    expect(unsigned.status).toBe(401);
    const rotated = await signedPost({ lead_id: id, status: 'accepted' }, { id: 'msg_1', keys: [OLD_SECRET_KEY, Buffer.from(SECRET.slice(6), 'base64')] });
    expect(rotated).toEqual({ status: 200, body: { ok: true, leadId: id, status: 'accepted', changed: true } });
    expect((await signedPost({ lead_id: id, status: 'rejected' }, { id: 'msg_1' })).body).toMatchObject({ changed: false, status: 'accepted' });
    // A signature over another body does not pass.
    const text = JSON.stringify({ lead_id: id, status: 'converted' });
    const tampered = await fetch(`${sys.postbackUrl}/v1/postbacks/signed`, {
      method: 'POST',
      headers: signedHeaders(JSON.stringify({ lead_id: id, status: 'rejected' })),
      body: text,
    });
    expect(tampered.status).toBe(401);
  });

  test('50 concurrent postbacks for one lead end in one consistent state', async () => {
    const id = await soldLead();
    const statuses = ['accepted', 'rejected', 'converted', 'returned', 'accepted'];
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => postback('buyer', { lead_id: id, status: statuses[i % statuses.length] as string, token: TOKEN })),
    );
    expect(answers.every((a) => a.status === 200 || a.status === 409)).toBe(true);
    const lead = await sys.lead(id);
    const events = lead.events.filter((e) => e.type === 'postback');
    expect(events).toHaveLength(50);
    const applied = events.filter((e) => e.result === 'applied').map((e) => e.status as string);
    expect(applied.length).toBe(answers.filter((a) => a.body.changed === true).length);
    // The applied changes form one legal chain from `delivered`, ending in the lead's status.
    const allowed: Record<string, string[]> = {
      delivered: ['accepted', 'rejected', 'converted', 'returned'],
      accepted: ['converted', 'rejected', 'returned'],
      rejected: ['accepted'],
      converted: ['returned'],
      returned: [],
    };
    let current = 'delivered';
    for (const next of applied) {
      expect(allowed[current]).toContain(next);
      current = next;
    }
    expect(lead.status).toBe(current);
  });
});

describe('supplier notifications (contract §6)', () => {
  test('delivered, converted and returned reach the tracker with macros URL-encoded and statuses renamed; each try is a notified event', async () => {
    const id = await soldLead('Facebook', { click_id: 'a&b c=d' });
    await postback('buyer', { lead_id: id, status: 'converted', token: TOKEN });
    await postback('buyer', { lead_id: id, status: 'returned', token: TOKEN });
    const mine = (): URLSearchParams[] => tracker.requests.map((r) => new URL(r.url, 'http://x').searchParams).filter((q) => q.get('lead') === id);
    await waitFor(() => (mine().length === 3 ? true : undefined), 10_000, 'three notifications');
    expect(mine().map((q) => [q.get('s'), q.get('p')])).toEqual([
      ['lead', '8'],
      ['sale', '8'],
      ['rejected', '0'],
    ]);
    expect(mine()[0]?.get('cid')).toBe('a&b c=d');
    expect(mine()[0]?.get('src')).toBe('Facebook');
    expect(mine()[0]?.get('geo')).toBe('US');
    const notified = await waitFor(async () => {
      const events = (await sys.lead(id)).events.filter((e) => e.type === 'notified');
      return events.length === 3 ? events : undefined;
    }, 5000, 'three notified events');
    expect(notified.map((e) => [e.status, e.sent, e.outcome])).toEqual([
      ['delivered', 'lead', 'ok'],
      ['converted', 'sale', 'ok'],
      ['returned', 'rejected', 'ok'],
    ]);
  });

  test('a tracker answering 500 three times then 200 gets exactly one successful notification, every try recorded', async () => {
    failuresLeft.set('lead', 3);
    const id = await soldLead();
    const tries = async (): Promise<Array<Record<string, unknown>>> => (await sys.lead(id)).events.filter((e) => e.type === 'notified');
    const events = await waitFor(async () => {
      const e = await tries();
      return e.some((x) => x.outcome === 'ok') ? e : undefined;
    }, 15_000, 'the successful notification');
    expect(events.map((e) => [e.outcome, e.httpStatus])).toEqual([
      ['error', 500],
      ['error', 500],
      ['error', 500],
      ['ok', 200],
    ]);
    await new Promise((r) => setTimeout(r, 300));
    expect(tracker.requests.filter((r) => r.url.includes(`lead=${id}`))).toHaveLength(4);
  });

  test('an unsold lead is notified too (no route)', async () => {
    const res = await sys.post({ name: 'No Route', phone: uniquePhone(), geo: 'US', source: 'Nowhere' });
    const id = res.body.id as string;
    expect((await sys.final(id)).status).toBe('unsold');
    const request = await waitFor(() => tracker.requests.find((r) => r.url.includes(`lead=${id}`)), 10_000, 'the unsold notification');
    const query = new URL(request.url, 'http://x').searchParams;
    expect([query.get('s'), query.get('p')]).toEqual(['unsold', '0']);
  });
});
