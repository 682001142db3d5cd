import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { MAX_REFUSED_POSTBACKS_PER_LEAD } from '@leadrouter/store';
import { startTestServer, type TestServer } from '@leadrouter/testing';
import { startSystem, systemYaml, uniquePhone, type TestSystem } from '@leadrouter/testing/system';

/** Postbacks as a hostile buyer (or whoever saw one of its requests) would send them. */
const SECRET = `whsec_${Buffer.from('hostile-test-secret-0123456789').toString('base64')}`;
const TOKEN = 'pb-hostile-token';
const webhook = new Webhook(SECRET);

let sys: TestSystem;
let buyer: TestServer;

beforeAll(async () => {
  buyer = await startTestServer((_req, res) => res.writeHead(200).end('{}'));
  sys = await startSystem(
    systemYaml(`
destinations:
  - { id: signed, url: "${buyer.url}/signed", payout: 5, postback: { secret: "${SECRET}" } }
  - { id: tokened, url: "${buyer.url}/tokened", payout: 3, postback: { token: "${TOKEN}" } }
routes:
  - { id: to-signed, match: { source: [Signed] }, destinations: [{ id: signed }] }
  - { id: to-tokened, destinations: [{ id: tokened }] }
`),
  );
});
afterAll(async () => {
  await sys.close();
  await buyer.close();
});

async function soldLead(source: 'Signed' | 'Facebook'): Promise<string> {
  const res = await sys.post({ name: 'Hostile Buyer', phone: uniquePhone(), geo: 'US', source });
  const lead = await sys.final(res.body.id as string);
  expect(lead.status).toBe('delivered');
  return lead.id;
}

/** A request signed with the official Standard Webhooks library, sent with an optional query string. */
async function signed(body: string, options: { msgId?: string; query?: Record<string, string>; method?: 'GET' | 'POST' } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const msgId = options.msgId ?? `msg_${Math.random().toString(36).slice(2)}`;
  const now = new Date();
  const headers: Record<string, string> = {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': webhook.sign(msgId, now, body),
  };
  if (body !== '') headers['content-type'] = 'application/json';
  const query = options.query ? `?${new URLSearchParams(options.query)}` : '';
  const method = options.method ?? 'POST';
  const res = await fetch(`${sys.postbackUrl}/v1/postbacks/signed${query}`, { method, headers, ...(method === 'POST' ? { body } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const revenueLine = (metrics: string): number => {
  const match = /leadrouter_revenue_total\{destination="signed",supplier="acme"\} ([\d.]+)/.exec(metrics);
  return Number(match?.[1] ?? 0);
};

describe('signed postbacks: only the signed body counts (contract §5)', () => {
  test('?payout=9999 added to a correctly signed body books nothing: the sale keeps its payout', async () => {
    const id = await soldLead('Signed');
    const before = revenueLine(await sys.metrics());
    const answer = await signed(JSON.stringify({ lead_id: id, status: 'accepted' }), { query: { payout: '9999' } });
    expect(answer).toEqual({ status: 200, body: { ok: true, leadId: id, status: 'accepted', changed: true } });
    expect(await sys.lead(id)).toMatchObject({ status: 'accepted', payout: 5 });
    expect(revenueLine(await sys.metrics())).toBe(before);
  });

  test('?event_id=fresh replays an old signed status as the repeat it is: webhook-id is the dedupe key', async () => {
    const id = await soldLead('Signed');
    const body = JSON.stringify({ lead_id: id, status: 'rejected' });
    expect((await signed(body, { msgId: 'msg_old' })).body).toMatchObject({ changed: true, status: 'rejected' });
    expect((await signed(JSON.stringify({ lead_id: id, status: 'accepted' }))).body).toMatchObject({ changed: true, status: 'accepted' });
    // The old signed request again, with a fresh event_id in the query: still the repeat of msg_old.
    const replay = await signed(body, { msgId: 'msg_old', query: { event_id: 'fresh1' } });
    expect(replay.body).toMatchObject({ changed: false, status: 'accepted' });
    expect((await sys.lead(id)).status).toBe('accepted');
  });

  test("a body's own event_id does not replace webhook-id as the dedupe key", async () => {
    const id = await soldLead('Signed');
    expect((await signed(JSON.stringify({ lead_id: id, status: 'rejected', event_id: 'e1' }), { msgId: 'msg_a' })).body).toMatchObject({ changed: true });
    expect((await signed(JSON.stringify({ lead_id: id, status: 'accepted', event_id: 'e2' }), { msgId: 'msg_b' })).body).toMatchObject({ changed: true });
    // Same webhook-id as the first, another body event_id: a repeat.
    expect((await signed(JSON.stringify({ lead_id: id, status: 'rejected', event_id: 'e3' }), { msgId: 'msg_a' })).body).toMatchObject({ changed: false, status: 'accepted' });
  });

  test('a signature over an empty body does not authenticate lead_id and status in the query', async () => {
    const id = await soldLead('Signed');
    for (const method of ['GET', 'POST'] as const) {
      const answer = await signed('', { method, query: { lead_id: id, status: 'returned' } });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ ok: false, reason: 'invalid', errors: expect.arrayContaining([{ field: 'lead_id', message: 'is required' }]) });
    }
    expect(await sys.lead(id)).toMatchObject({ status: 'delivered', payout: 5 });
  });
});

describe('malformed postbacks get a 4xx, never a 5xx', () => {
  test('/v1/postbacks/%ff is a 400', async () => {
    const res = await fetch(`${sys.postbackUrl}/v1/postbacks/%ff?lead_id=x&status=accepted&token=${TOKEN}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(await res.json()).toMatchObject({ ok: false, reason: 'invalid' });
  });

  test.each([':events', ':postbacks', '%00', '/../x'])('a lead_id of a real id plus %j is a 404, and the lead is untouched', async (suffix) => {
    const id = await soldLead('Facebook');
    const query = `lead_id=${encodeURIComponent(id + decodeURIComponent(suffix))}&status=accepted&token=${TOKEN}`;
    const res = await fetch(`${sys.postbackUrl}/v1/postbacks/tokened?${query}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(await res.json()).toEqual({ ok: false, reason: 'not_found' });
    const lead = await sys.lead(id);
    expect(lead.status).toBe('delivered');
    expect(lead.events.filter((e) => e.type === 'postback')).toEqual([]);
  });
});

describe("refused postbacks cannot grow a lead's history without limit", () => {
  test('three 60 KB statuses are recorded cut short; the supplier view stays small', async () => {
    const id = await soldLead('Facebook');
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${sys.postbackUrl}/v1/postbacks/tokened`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-postback-token': TOKEN },
        body: JSON.stringify({ lead_id: id, status: 'x'.repeat(60_000) }),
      });
      expect(res.status).toBe(400);
    }
    const lead = await sys.lead(id);
    const refused = lead.events.filter((e) => e.type === 'postback');
    expect(refused).toHaveLength(3);
    for (const event of refused) expect(String(event.received).length).toBeLessThanOrEqual(64);
    expect(JSON.stringify(lead).length).toBeLessThan(8_000);
  });

  test(`past ${MAX_REFUSED_POSTBACKS_PER_LEAD} refused postbacks (invalid, repeats, disallowed changes) the history stops growing; applied ones are still recorded`, async () => {
    const id = await soldLead('Facebook');
    const send = (status: string): Promise<Response> => fetch(`${sys.postbackUrl}/v1/postbacks/tokened?${new URLSearchParams({ lead_id: id, status, token: TOKEN })}`);
    expect((await send('accepted')).status).toBe(200);
    for (let i = 0; i < MAX_REFUSED_POSTBACKS_PER_LEAD + 10; i++) {
      const kind = i % 3;
      const res = await send(kind === 0 ? 'bogus' : kind === 1 ? 'accepted' : 'delivered');
      expect(res.status).toBe(kind === 0 ? 400 : kind === 1 ? 200 : 409);
      await res.arrayBuffer();
    }
    expect((await send('converted')).status).toBe(200);
    const postbacks = (await sys.lead(id)).events.filter((e) => e.type === 'postback') as Array<{ result?: string; status?: string }>;
    expect(postbacks.filter((e) => e.result === 'applied').map((e) => e.status)).toEqual(['accepted', 'converted']);
    expect(postbacks.filter((e) => e.result !== 'applied')).toHaveLength(MAX_REFUSED_POSTBACKS_PER_LEAD);
  });
});

describe('the intake: malformed requests are 4xx with nothing of the body in the log', () => {
  test('GET /v1/leads/%ff is a 400 naming the path', async () => {
    const res = await fetch(`http://127.0.0.1:${sys.intake.port}/v1/leads/%ff`, { headers: { 'x-api-key': 'admin-key-1' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ status: 'rejected', reason: 'invalid', errors: [{ field: 'path', message: expect.any(String) }] });
  });

  test('an admin bulk redeliver with malformed JSON is a 400, and the body reaches no log line', async () => {
    const secret = 'Jane4155';
    const res = await fetch(`http://127.0.0.1:${sys.intake.port}/v1/admin/leads/redeliver`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'admin-key-1' },
      body: `{"from": ${secret}}`,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ ok: false, reason: 'invalid', errors: [{ field: 'body', message: 'malformed JSON' }] });
    expect(sys.logs.text()).not.toContain(secret);
    expect(sys.logs.text()).toContain('"status":400');
  });
});

