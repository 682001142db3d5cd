import type { ServerResponse } from 'node:http';
import { describe, expect, test } from '@jest/globals';
import { acceptAll, attempts, closedAfterEach, systemYaml, uniquePhone } from '@leadrouter/testing/system';

const { server, system } = closedAfterEach();

describe('any lead that intake accepted can be delivered (contract §4)', () => {
  test('names in Cyrillic, Chinese and with an emoji go into a header percent-encoded, are sold, and the circuit stays shut', async () => {
    const buyer = await server(acceptAll);
    const sys = await system(
      systemYaml(`
destinations:
  - id: buyer
    url: "${buyer.url}/leads?name={{name}}"
    headers: { X-Name: "{{name}}", X-Last: "{{last_name}}" }
    circuit: { failures: 2, cooldownMs: 60000 }
    retry: { attempts: 0 }
routes:
  - { id: all, destinations: [{ id: buyer }] }
`),
    );
    const names = ['Иван Петров', '李雷', 'Zoë 🚀 Smith', 'Ольга Ким'];
    for (const name of names) {
      const res = await sys.post({ name, phone: uniquePhone(), geo: 'US', source: 'Facebook' });
      expect(res.status).toBe(202);
      const lead = await sys.final(res.body.id as string);
      expect(lead.status).toBe('delivered');
      expect(attempts(lead)).toHaveLength(1);
    }
    expect(buyer.requests.map((r) => decodeURIComponent(String(r.headers['x-name'])))).toEqual(names);
    expect(buyer.requests.map((r) => new URL(r.url, buyer.url).searchParams.get('name'))).toEqual(names);
    expect(await sys.metrics()).toContain('leadrouter_destination_circuit_open{destination="buyer"} 0');
  });

  test('a request LeadRouter cannot build never counts against the buyer: no retry, no open circuit, the fallback buys', async () => {
    const buyer = await server(acceptAll);
    const fallback = await server(acceptAll);
    // The lead's own `host` field goes into the URL: "no such host" makes a URL that Node refuses.
    const sys = await system(
      systemYaml(`
destinations:
  - id: picky
    url: "http://{{host}}:${buyer.port}/leads"
    circuit: { failures: 2, cooldownMs: 60000 }
    retry: { attempts: 2, backoffMs: 50 }
  - { id: spare, url: "${fallback.url}/" }
routes:
  - { id: all, destinations: [{ id: picky }], fallback: [spare] }
`),
    );
    for (let i = 0; i < 4; i++) {
      const res = await sys.post({ name: 'Port Less', phone: uniquePhone(), geo: 'US', source: 'Facebook', host: 'no such host' });
      const lead = await sys.final(res.body.id as string);
      expect(lead).toMatchObject({ status: 'delivered', destination: 'spare' });
      const tries = attempts(lead);
      // One try at the destination that could not be reached, marked as LeadRouter's own error.
      expect(tries.filter((t) => t.destination === 'picky')).toEqual([expect.objectContaining({ outcome: 'error', httpStatus: null, error: expect.stringMatching(/could not be (built|sent)/) })]);
    }
    // Four own-fault failures against a threshold of 2: the buyer is still open for leads it can take.
    const good = await sys.post({ name: 'Port Ful', phone: uniquePhone(), geo: 'US', source: 'Facebook', host: '127.0.0.1' });
    expect(await sys.final(good.body.id as string)).toMatchObject({ status: 'delivered', destination: 'picky' });
    expect(buyer.requests).toHaveLength(1);
  });
});

describe('a buyer that answers no in a 200 (contract §4)', () => {
  test('200 {"result":"rejected"} against accept {path: result, equals: success} is one rejection: not retried, circuit untouched', async () => {
    const saysNo = await server((_req: unknown, res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"rejected"}'));
    const sys = await system(
      systemYaml(`
destinations:
  - id: says-no
    url: "${saysNo.url}/"
    response: { accept: { path: result, equals: success } }
    retry: { attempts: 3, backoffMs: 50 }
    circuit: { failures: 2, cooldownMs: 60000 }
routes:
  - { id: all, destinations: [{ id: says-no }] }
`),
    );
    for (let i = 0; i < 3; i++) {
      const res = await sys.post();
      const lead = await sys.final(res.body.id as string);
      expect(lead).toMatchObject({ status: 'unsold', reason: 'all_rejected' });
      expect(attempts(lead)).toEqual([expect.objectContaining({ outcome: 'rejected', httpStatus: 200 })]);
    }
    expect(saysNo.requests).toHaveLength(3);
    const metrics = await sys.metrics();
    expect(metrics).toContain('leadrouter_delivery_attempts_total{destination="says-no",outcome="rejected"} 3');
    expect(metrics).toContain('leadrouter_destination_circuit_open{destination="says-no"} 0');
  });
});
