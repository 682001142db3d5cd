import type { ServerResponse } from 'node:http';
import { describe, expect, test } from '@jest/globals';
import { Queue } from 'bullmq';
import { deliverQueueName, queuePrefix } from '@leadrouter/redis';
import { testRedisClient, waitFor } from '@leadrouter/testing';
import { acceptAll, ADMIN, closedAfterEach, attempts, systemYaml, uniquePhone, type TestSystem } from '@leadrouter/testing/system';

const { server, system: startOne } = closedAfterEach();
const system = (yaml: string, workers = 1): Promise<TestSystem> => startOne(yaml, { workers });
const ok = acceptAll;
const later = (ms: number) => (_req: unknown, res: ServerResponse): void => {
  setTimeout(() => ok(_req, res), ms);
};
const lead = (source = 'Facebook'): Record<string, unknown> => ({ name: 'Jane Roe', phone: uniquePhone(), geo: 'US', source });

describe('caps, isolation, circuits, rotation', () => {
  test('20 concurrent workers and a daily cap of 5: exactly 5 sent and sold there, the rest to the fallback', async () => {
    const capped = await server(later(30));
    const overflow = await server(ok);
    const sys = await system(
      systemYaml(`
destinations:
  - { id: capped, url: "${capped.url}/", caps: { daily: 5, hourly: 100 }, concurrency: 20 }
  - { id: overflow, url: "${overflow.url}/" }
routes:
  - id: all
    destinations: [{ id: capped }]
    fallback: [overflow]
`),
      20,
    );
    const ids = await Promise.all(Array.from({ length: 40 }, async () => (await sys.post(lead())).body.id as string));
    const finals = await Promise.all(ids.map((id) => sys.final(id, 30_000)));
    const soldTo = (d: string): number => finals.filter((l) => l.status === 'delivered' && l.destination === d).length;
    expect(soldTo('capped')).toBe(5);
    expect(soldTo('overflow')).toBe(35);
    expect(capped.requests).toHaveLength(5);
    await waitFor(async () => ((await sys.metrics()).includes('leadrouter_destination_cap_used{destination="capped",period="daily"} 5') ? true : undefined), 5000, 'the cap gauge');
    expect(await sys.metrics()).toContain('leadrouter_destination_cap_used{destination="capped",period="hourly"} 5');
  });

  test('a delivery job of a sold lead that runs again (after a crash) neither sends again nor gives the sold slot back', async () => {
    const capped = await server(ok);
    const sys = await system(
      systemYaml(`
destinations:
  - { id: capped, url: "${capped.url}/", caps: { total: 1 } }
routes:
  - id: all
    destinations: [{ id: capped }]
`),
    );
    const first = await sys.final((await sys.post(lead())).body.id as string);
    expect(first.destination).toBe('capped');
    // BullMQ never closes a connection it is given (it may be shared): this test owns it and ends it,
    // or its reconnect loop keeps jest from exiting once the suite's Redis is stopped.
    const connection = testRedisClient({ maxRetriesPerRequest: null });
    const queue = new Queue(deliverQueueName('capped'), { connection, prefix: queuePrefix(sys.env.prefix, deliverQueueName('capped')) });
    try {
      await queue.add('deliver', { leadId: first.id, index: 0, attempt: 0 }, { jobId: `${first.id}.replayed` });
      await waitFor(async () => ((await queue.getJobCounts('completed', 'waiting', 'active')).waiting === 0 && (await queue.getJobCounts('active')).active === 0 ? true : undefined), 5000, 'the replayed job to finish');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await queue.close();
      connection.disconnect();
    }
    expect(capped.requests).toHaveLength(1);
    // The cap still counts the sale: a second lead finds it full.
    expect(await sys.final((await sys.post(lead())).body.id as string)).toMatchObject({ status: 'unsold', reason: 'no_eligible_destination' });
  });

  test('a rejected lead gives its cap slot back, so the cap counts sold leads only', async () => {
    let calls = 0;
    const picky = await server((_req, res) => {
      calls += 1;
      if (calls <= 2) res.writeHead(400).end();
      else ok(_req, res);
    });
    const sys = await system(
      systemYaml(`
destinations:
  - { id: picky, url: "${picky.url}/", caps: { total: 2 } }
routes:
  - id: all
    destinations: [{ id: picky }]
`),
    );
    const results = [];
    for (let i = 0; i < 5; i++) results.push((await sys.final((await sys.post(lead())).body.id as string)).status);
    expect(results).toEqual(['unsold', 'unsold', 'delivered', 'delivered', 'unsold']);
    expect(picky.requests).toHaveLength(4);
  });

  test('a hanging destination does not hold up 50 leads to a healthy one on another route', async () => {
    const hanging = await server(() => undefined);
    const healthy = await server(ok);
    const sys = await system(
      systemYaml(`
destinations:
  - { id: hangs, url: "${hanging.url}/", timeoutMs: 12000, concurrency: 5, retry: { attempts: 0 } }
  - { id: healthy, url: "${healthy.url}/", concurrency: 10 }
routes:
  - id: slow
    match: { source: [Slow] }
    destinations: [{ id: hangs }]
  - id: fast
    destinations: [{ id: healthy }]
`),
    );
    const stuck = await Promise.all(Array.from({ length: 20 }, async () => (await sys.post(lead('Slow'))).body.id as string));
    await waitFor(() => (hanging.requests.length >= 5 ? true : undefined), 10_000, 'the hanging destination to hold 5 requests');
    const flowing = await Promise.all(Array.from({ length: 50 }, async () => (await sys.post(lead('Google'))).body.id as string));
    // Within 10 s, and the hanging buyer's timeout is 12 s: its 5 leads cannot have ended by then, even on a loaded CI.
    const finals = await Promise.all(flowing.map((id) => sys.final(id, 10_000)));
    expect(finals.every((l) => l.status === 'delivered' && l.destination === 'healthy')).toBe(true);
    // Proof that nothing waited for the hanging buyer: its leads are all still in flight.
    const stillQueued = await Promise.all(stuck.map(async (id) => (await sys.lead(id)).status));
    expect(stillQueued.every((s) => s === 'queued')).toBe(true);
    expect(hanging.requests).toHaveLength(5);
  });

  test('after 5 errors in a row the circuit opens: later leads skip the destination without a request', async () => {
    const broken = await server((_req, res) => res.writeHead(500).end());
    const backup = await server(ok);
    const sys = await system(
      systemYaml(`
destinations:
  - { id: broken, url: "${broken.url}/", retry: { attempts: 0 } }
  - { id: backup, url: "${backup.url}/" }
routes:
  - id: all
    destinations: [{ id: broken }]
    fallback: [backup]
`),
    );
    const finals = [];
    for (let i = 0; i < 8; i++) finals.push(await sys.final((await sys.post(lead())).body.id as string));
    expect(finals.every((l) => l.status === 'delivered' && l.destination === 'backup')).toBe(true);
    expect(broken.requests).toHaveLength(5);
    expect(finals.slice(5).every((l) => attempts(l).every((a) => a.destination !== 'broken'))).toBe(true);
    expect(await sys.metrics()).toContain('leadrouter_destination_circuit_open{destination="broken"} 1');
  });

  test('after the cooldown one probe is let through; its success closes the circuit', async () => {
    let healthy = false;
    const recovering = await server((_req, res) => (healthy ? ok(_req, res) : res.writeHead(503).end()));
    const backup = await server(ok);
    const sys = await system(
      systemYaml(`
destinations:
  - { id: recovering, url: "${recovering.url}/", retry: { attempts: 0 }, circuit: { failures: 2, cooldownMs: 400 } }
  - { id: backup, url: "${backup.url}/" }
routes:
  - id: all
    destinations: [{ id: recovering }]
    fallback: [backup]
`),
    );
    for (let i = 0; i < 3; i++) await sys.final((await sys.post(lead())).body.id as string);
    expect(recovering.requests).toHaveLength(2);
    healthy = true;
    await new Promise((r) => setTimeout(r, 500));
    const probe = await sys.final((await sys.post(lead())).body.id as string);
    expect(probe.destination).toBe('recovering');
    const after = await sys.final((await sys.post(lead())).body.id as string);
    expect(after.destination).toBe('recovering');
    await waitFor(async () => ((await sys.metrics()).includes('leadrouter_destination_circuit_open{destination="recovering"} 0') ? true : undefined), 5000, 'the circuit gauge to show closed');
  });

  test('round_robin rotates the first choice across two worker processes', async () => {
    const buyers = await Promise.all([server(ok), server(ok), server(ok)]);
    const sys = await system(
      systemYaml(`
destinations:
${buyers.map((b, i) => `  - { id: rr-${i}, url: "${b.url}/" }`).join('\n')}
routes:
  - id: all
    strategy: round_robin
    destinations: [{ id: rr-0 }, { id: rr-1 }, { id: rr-2 }]
`),
      2,
    );
    const order = [];
    for (let i = 0; i < 6; i++) order.push((await sys.final((await sys.post(lead())).body.id as string)).destination);
    expect(order).toEqual(['rr-0', 'rr-1', 'rr-2', 'rr-0', 'rr-1', 'rr-2']);
  });

  test('best_revenue records its estimates in the routed event and learns from outcomes (admin view)', async () => {
    const taker = await server(ok);
    const refuser = await server((_req, res) => res.writeHead(400).end());
    const sys = await system(
      systemYaml(`
destinations:
  - { id: taker, url: "${taker.url}/", payout: 5 }
  - { id: refuser, url: "${refuser.url}/", payout: 50 }
routes:
  - id: learn
    strategy: best_revenue
    destinations: [{ id: refuser }, { id: taker }]
`),
    );
    const leads = [];
    for (let i = 0; i < 30; i++) leads.push(await sys.final((await sys.post(lead())).body.id as string));
    const routed = leads[0]!.events.find((e) => e.type === 'routed') as unknown as { estimates: Record<string, { expected: number }> };
    expect(Object.keys(routed.estimates).sort()).toEqual(['refuser', 'taker']);
    expect(routed.estimates.taker!.expected).toBe(2.5);
    const admin = (await (await fetch(`http://127.0.0.1:${sys.intake.port}/v1/admin/destinations`, { headers: { 'x-api-key': ADMIN } })).json()) as {
      destinations: Array<{ id: string; learning: { acceptance: number; observations: number } }>;
    };
    const learning = Object.fromEntries(admin.destinations.map((d) => [d.id, d.learning]));
    expect(learning.taker!.acceptance).toBeGreaterThan(0.8);
    expect(learning.refuser!.acceptance).toBeLessThan(0.2);
    expect(learning.taker!.observations + learning.refuser!.observations).toBeGreaterThanOrEqual(30);
    // The same estimates as a gauge: the taker earns about its payout, the refuser close to nothing.
    const gauge = async (d: string): Promise<number> => Number(new RegExp(`leadrouter_destination_expected_revenue\\{destination="${d}"\\} ([\\d.e-]+)`).exec(await sys.metrics())?.[1] ?? NaN);
    await waitFor(async () => ((await gauge('taker')) > 4 ? true : undefined), 5000, 'the expected revenue gauge');
    expect(await gauge('refuser')).toBeLessThan(10);
    // Whatever the draws, every lead was sold (the refuser rejects, the taker follows).
    expect(leads.every((l) => l.status === 'delivered' && l.destination === 'taker')).toBe(true);
  });

  test('Retry-After is honoured within bounds; Retry-After: 3600 moves on to the next destination at once', async () => {
    let calls = 0;
    const busy = await server((_req, res) => {
      calls += 1;
      if (calls === 1) res.writeHead(503, { 'retry-after': '1' }).end();
      else ok(_req, res);
    });
    const closed = await server((_req, res) => res.writeHead(429, { 'retry-after': '3600' }).end());
    const backup = await server(ok);
    const sys = await system(
      systemYaml(`
destinations:
  - { id: busy, url: "${busy.url}/", retry: { attempts: 3, backoffMs: 10 } }
  - { id: closed, url: "${closed.url}/", retry: { attempts: 3, backoffMs: 10 } }
  - { id: backup, url: "${backup.url}/" }
routes:
  - id: busy-first
    match: { source: [Busy] }
    destinations: [{ id: busy }]
  - id: closed-first
    destinations: [{ id: closed }]
    fallback: [backup]
`),
    );
    const retried = await sys.final((await sys.post(lead('Busy'))).body.id as string);
    const tries = attempts(retried);
    expect(tries.map((a) => a.httpStatus)).toEqual([503, 200]);
    expect(Date.parse(String(tries[1]!.at)) - Date.parse(String(tries[0]!.at))).toBeGreaterThanOrEqual(1000);
    const movedOn = await sys.final((await sys.post(lead('Other'))).body.id as string);
    expect(movedOn).toMatchObject({ status: 'delivered', destination: 'backup' });
    expect(closed.requests).toHaveLength(1);
  });
});
