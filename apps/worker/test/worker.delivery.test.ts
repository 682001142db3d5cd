import type { ServerResponse } from 'node:http';
import { describe, expect, test } from '@jest/globals';
import { acceptAll, closedAfterEach, attempts, KEY, systemYaml, type LeadBody, type TestSystem } from '@leadrouter/testing/system';

const { server, system: startOne } = closedAfterEach();
const system = (yaml: string, workers = 1): Promise<TestSystem> => startOne(yaml, { workers });
const ok = acceptAll;
const status = (code: number, body = '') => (_req: unknown, res: ServerResponse): void => {
  res.writeHead(code).end(body);
};

describe('delivery', () => {
  test('sold to the first destination: mapped JSON body, headers, payout, events in order', async () => {
    const buyer = await server(ok);
    const sys = await system(
      systemYaml(`
destinations:
  - id: buyer-a
    url: "${buyer.url}/leads?src={{source}}"
    headers: { Authorization: "Bearer t0k" }
    body: { full_name: "{{name}}", "contact.phone": "{{phone}}", first: "{{first_name}}", q: "{{quality}}" }
    response: { accept: { status: [200], path: result, equals: success } }
    payout: 12.5
routes:
  - id: all
    destinations: [{ id: buyer-a }]
`),
    );
    const res = await sys.post({ name: 'Jane Roe', phone: '+14155550100', geo: 'US', source: 'Face book' }, '?wait=10');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted', id: res.body.id, result: 'delivered', payout: 12.5 });
    const lead = await sys.final(res.body.id as string);
    expect(lead).toMatchObject({ status: 'delivered', destination: 'buyer-a', payout: 12.5 });
    expect(lead.events.map((e) => e.type)).toEqual(['received', 'routed', 'attempt', 'delivered']);
    expect(attempts(lead)[0]).toMatchObject({ destination: 'buyer-a', outcome: 'accepted', httpStatus: 200, error: null });
    expect(buyer.requests).toHaveLength(1);
    const sent = buyer.requests[0]!;
    expect(sent.url).toBe('/leads?src=Face%20book');
    expect(sent.headers.authorization).toBe('Bearer t0k');
    expect(sent.headers['idempotency-key']).toBe(res.body.id);
    expect(sent.headers['x-lead-id']).toBe(res.body.id);
    const body = JSON.parse(sent.body) as Record<string, unknown>;
    expect(body).toEqual({ full_name: 'Jane Roe', contact: { phone: '+14155550100' }, first: 'Jane', q: expect.any(Number) });
    // The supplier's own view: no money and no buyer on the delivered event.
    const supplierView = (await (await fetch(`http://127.0.0.1:${sys.intake.port}/v1/leads/${lead.id}`, { headers: { 'x-api-key': KEY } })).json()) as LeadBody;
    expect(supplierView).not.toHaveProperty('payout');
    expect(supplierView).not.toHaveProperty('destination');
    expect(supplierView.events.find((e) => e.type === 'delivered')).toEqual({ at: expect.any(String), type: 'delivered' });
    // No buyer id and no money anywhere in it: not in the plan, the tries or the sale.
    expect(JSON.stringify(supplierView)).not.toContain('buyer-a');
    expect(JSON.stringify(supplierView)).not.toContain('12.5');
    expect(supplierView.events.find((e) => e.type === 'attempt')).toMatchObject({ outcome: 'accepted', httpStatus: 200 });
    const metrics = await sys.metrics();
    expect(metrics).toContain('leadrouter_leads_sold_total{destination="buyer-a",supplier="acme",route="all",source="other"} 1');
    expect(metrics).toContain('leadrouter_delivery_attempts_total{destination="buyer-a",outcome="accepted"} 1');
    expect(metrics).toMatch(/leadrouter_lead_time_to_sale_seconds_count 1/);
    expect(metrics).toContain('leadrouter_revenue_total{destination="buyer-a",supplier="acme"} 12.5');
  });

  test('a rejection moves to the next destination at once; a form body goes to the fallback', async () => {
    const rejecting = await server(status(422, '{"result":"rejected"}'));
    const fallback = await server(ok);
    const sys = await system(
      systemYaml(`
destinations:
  - id: picky
    url: "${rejecting.url}/"
    retry: { attempts: 3, backoffMs: 5000 }
  - id: backup
    url: "${fallback.url}/in"
    format: form
    body: { tel: "{{phone_national}}", country: "{{geo}}" }
    payout: 3
routes:
  - id: all
    destinations: [{ id: picky }]
    fallback: [backup]
`),
    );
    const id = (await sys.post()).body.id as string;
    const lead = await sys.final(id);
    expect(lead).toMatchObject({ status: 'delivered', destination: 'backup', payout: 3 });
    expect(attempts(lead).map((a) => [a.destination, a.outcome, a.httpStatus])).toEqual([
      ['picky', 'rejected', 422],
      ['backup', 'accepted', 200],
    ]);
    expect(rejecting.requests).toHaveLength(1);
    expect(fallback.requests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(fallback.requests[0]!.body).get('country')).toBe('US');
  });

  test('500 then 200: sold on the retry, both tries recorded', async () => {
    let calls = 0;
    const flaky = await server((_req, res) => {
      calls += 1;
      if (calls === 1) res.writeHead(500).end('oops');
      else ok(_req, res);
    });
    const sys = await system(
      systemYaml(`
destinations:
  - id: flaky
    url: "${flaky.url}/"
    retry: { attempts: 2, backoffMs: 50 }
routes:
  - id: all
    destinations: [{ id: flaky }]
`),
    );
    const lead = await sys.final((await sys.post()).body.id as string);
    expect(lead.status).toBe('delivered');
    expect(attempts(lead).map((a) => [a.outcome, a.httpStatus])).toEqual([
      ['error', 500],
      ['accepted', 200],
    ]);
    expect(flaky.requests.map((r) => r.headers['idempotency-key'])).toEqual([lead.id, lead.id]);
  });

  test('a 302 is an error and is not followed; a 5 MB reply and an HTML reply are classified without a crash', async () => {
    const target = await server(ok);
    const redirecting = await server((_req, res) => res.writeHead(302, { location: `${target.url}/stolen` }).end());
    const huge = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.alloc(5 * 1024 * 1024, 'a'));
    });
    const html = await server((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>ok?</html>'));
    const sys = await system(
      systemYaml(`
destinations:
  - { id: redirect, url: "${redirecting.url}/", retry: { attempts: 0 } }
  - { id: huge, url: "${huge.url}/", retry: { attempts: 0 }, response: { accept: { status: [200], path: result, equals: success } } }
  - { id: html, url: "${html.url}/", retry: { attempts: 0 }, response: { accept: { status: [200], path: result, equals: success } } }
routes:
  - id: all
    destinations: [{ id: redirect }, { id: huge }, { id: html }]
`),
    );
    const lead = await sys.final((await sys.post()).body.id as string);
    expect(lead).toMatchObject({ status: 'unsold', reason: 'all_rejected' });
    const tried = attempts(lead);
    expect(tried.map((a) => [a.destination, a.outcome, a.httpStatus])).toEqual([
      ['redirect', 'error', 302],
      ['huge', 'error', 200],
      ['html', 'error', 200],
    ]);
    expect(String(tried[0]!.error)).toContain('redirect');
    expect(target.requests).toHaveLength(0);
  });

  test('a destination that hangs times out, is recorded as a timeout, and the lead goes on to the next one', async () => {
    const hanging = await server(() => undefined);
    const good = await server(ok);
    const sys = await system(
      systemYaml(`
destinations:
  - { id: hangs, url: "${hanging.url}/", timeoutMs: 300, retry: { attempts: 0 } }
  - { id: good, url: "${good.url}/" }
routes:
  - id: all
    destinations: [{ id: hangs }, { id: good }]
`),
    );
    const lead = await sys.final((await sys.post()).body.id as string);
    expect(lead).toMatchObject({ status: 'delivered', destination: 'good' });
    expect(attempts(lead)[0]).toMatchObject({ destination: 'hangs', outcome: 'error', httpStatus: null, error: 'timeout after 300 ms' });
    expect(await sys.metrics()).toContain('leadrouter_delivery_attempts_total{destination="hangs",outcome="timeout"} 1');
  });

  test('unsold reasons: no_route, no_eligible_destination, all_rejected', async () => {
    const rejecting = await server(status(400));
    const sys = await system(
      systemYaml(`
destinations:
  - { id: off, url: "${rejecting.url}/", enabled: false }
  - { id: ca-only, url: "${rejecting.url}/", accepts: { geo: [CA] } }
  - { id: no, url: "${rejecting.url}/" }
routes:
  - id: disabled-only
    match: { source: [Disabled] }
    destinations: [{ id: off }, { id: ca-only }]
  - id: rejecting
    match: { source: [Facebook] }
    destinations: [{ id: no }]
`),
    );
    const phone = (n: number): string => `+1415555${String(1000 + n)}`;
    // ?wait gives the unsold outcome and its reason; the plain 202 is only for time running out.
    const waited = await sys.post({ name: 'A B', phone: phone(1), geo: 'US', source: 'Google' }, '?wait=10');
    expect(waited).toEqual({ status: 202, body: { status: 'accepted', id: waited.body.id, result: 'unsold', reason: 'no_route' } });
    const noRoute = await sys.final(waited.body.id as string);
    const none = await sys.final((await sys.post({ name: 'A B', phone: phone(2), geo: 'US', source: 'disabled' })).body.id as string);
    const rejected = await sys.final((await sys.post({ name: 'A B', phone: phone(3), geo: 'US', source: 'facebook' })).body.id as string);
    expect([noRoute.reason, none.reason, rejected.reason]).toEqual(['no_route', 'no_eligible_destination', 'all_rejected']);
    expect(noRoute.events.map((e) => e.type)).toEqual(['received', 'unsold']);
    expect(rejecting.requests).toHaveLength(1);
    const metrics = await sys.metrics();
    expect(metrics).toContain('leadrouter_leads_unsold_total{reason="no_route",route="none"} 1');
    expect(metrics).toContain('leadrouter_leads_unsold_total{reason="all_rejected",route="rejecting"} 1');
  });
});

describe("the supplier's view of a best_revenue lead", () => {
  test('shows no candidate buyer, estimate or payout, while the admin view explains the choice', async () => {
    const pricey = await server(ok);
    const cheap = await server(ok);
    const sys = await system(
      systemYaml(`
destinations:
  - { id: pricey-buyer, url: "${pricey.url}/", payout: 7.25 }
  - { id: cheap-buyer, url: "${cheap.url}/", payout: 3.75 }
routes:
  - { id: learn, strategy: best_revenue, destinations: [{ id: pricey-buyer }, { id: cheap-buyer }] }
`),
    );
    const res = await sys.post();
    const admin = await sys.final(res.body.id as string);
    expect(admin.events.find((e) => e.type === 'routed')).toMatchObject({ estimates: { 'pricey-buyer': { payout: 7.25 }, 'cheap-buyer': { payout: 3.75 } } });
    const view = (await (await fetch(`http://127.0.0.1:${sys.intake.port}/v1/leads/${admin.id}`, { headers: { 'x-api-key': KEY } })).json()) as LeadBody;
    const text = JSON.stringify(view);
    for (const secret of ['pricey-buyer', 'cheap-buyer', '7.25', '3.75', 'estimates', 'candidates']) expect(text).not.toContain(secret);
    expect(view.events.map((e) => e.type)).toEqual(['received', 'routed', 'attempt', 'delivered']);
  });
});
