import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { Queue } from 'bullmq';
import { parseConfigText, readEnv } from '@leadrouter/config';
import { startIntake, type IntakeHandle } from '@leadrouter/app-intake-api';
import { deliverQueueName, freePort, QUEUES, queuePrefix } from '@leadrouter/redis';
import { captureLogger, spawnRole, startTestServer, testRedisClient, testRedisUrl, uniquePrefix, waitFor, type RoleProcess, type TestServer } from '@leadrouter/testing';
import { ADMIN, KEY, systemYaml, uniquePhone, type LeadBody } from '@leadrouter/testing/system';

/**
 * A config reload (contract §11) in the middle of 300 leads, with two worker processes: the
 * reload removes b and adds c. Every lead still ends final, each reached exactly one buyer (the one
 * its record names), the jobs that were waiting for b move on along their plans, and leads posted
 * after the reload go to a or c, never b. And a reload followed by a rolling restart of the
 * workers: the leads that were waiting for the removed destination must still end final.
 */
const hashOf = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 12);

async function spawnWorker(childEnv: Record<string, string>): Promise<{ role: RoleProcess; port: number }> {
  const port = await freePort();
  const role: RoleProcess = spawnRole('worker', { ...childEnv, WORKER_PORT: String(port) });
  spawned.push(role);
  await waitFor(
    async () => {
      if (role.child.exitCode !== null || role.child.signalCode !== null) throw new Error('a worker exited before it was ready');
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      await res?.arrayBuffer();
      return res?.ok ? true : undefined;
    },
    60_000,
    'a spawned worker to be ready',
  );
  return { role, port };
}
/** Every worker process this file started: killed at its end if still running. */
const spawned: RoleProcess[] = [];

interface Arrival {
  buyer: string;
  leadId: string;
  at: number;
}

describe('config reload under load', () => {
  const cleanup: Array<() => unknown> = [];
  // After each test, so that one test's processes do not load the machine during the next.
  const closeAll = async (): Promise<void> => {
    for (const role of spawned.splice(0)) await role.stop();
    for (const fn of cleanup.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // Keep closing the rest.
      }
    }
  };
  afterEach(closeAll);
  afterAll(closeAll);

  test('300 leads, two workers, b removed and c added mid-flight: every lead final, each at exactly one buyer, none to b after the reload, some to c', async () => {
    const arrivals: Arrival[] = [];
    const accept = (name: string) => (req: { headers: Record<string, string | string[] | undefined> }, res: ServerResponse): void => {
      arrivals.push({ buyer: name, leadId: String(req.headers['x-lead-id']), at: Date.now() });
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"success"}'), 100 + Math.floor(Math.random() * 50));
    };
    const buyers: Record<string, TestServer> = {};
    for (const name of ['a', 'b', 'c']) {
      buyers[name] = await startTestServer(accept(name));
      cleanup.push(() => buyers[name]?.close());
    }
    // b has few slots, so jobs queue up for it: the reload finds some of them waiting.
    const yaml1 = systemYaml(`
destinations:
  - { id: a, url: "${buyers.a?.url}/", timeoutMs: 10000, concurrency: 20 }
  - { id: b, url: "${buyers.b?.url}/", timeoutMs: 10000, concurrency: 2 }
routes:
  - id: split
    strategy: weighted
    destinations: [{ id: a, weight: 1 }, { id: b, weight: 1 }]
`);
    const yaml2 = systemYaml(`
destinations:
  - { id: a, url: "${buyers.a?.url}/", timeoutMs: 10000, concurrency: 20 }
  - { id: c, url: "${buyers.c?.url}/", timeoutMs: 10000, concurrency: 20 }
routes:
  - id: split
    strategy: weighted
    destinations: [{ id: a, weight: 1 }, { id: c, weight: 1 }]
`);
    const dir = mkdtempSync(join(tmpdir(), 'lr-reload-load-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'leadrouter.yaml');
    writeFileSync(configFile, yaml1);
    const prefix = uniquePrefix();
    const childEnv = { REDIS_URL: testRedisUrl(), LEADROUTER_PREFIX: prefix, LEADROUTER_CONFIG: configFile, HOST: '127.0.0.1', LOG_LEVEL: 'warn' };

    const env = { ...readEnv({ ...childEnv, ADMIN_API_KEY: ADMIN }), intakePort: 0 };
    const intake: IntakeHandle = await startIntake({ env, config: parseConfigText(yaml1, {}), logger: captureLogger('intake', 'warn').logger, configFile });
    cleanup.push(() => intake.close());
    const base = `http://127.0.0.1:${intake.port}`;

    const workers = await Promise.all([spawnWorker(childEnv), spawnWorker(childEnv)]);
    const hashOn = async (port: number): Promise<string | undefined> => /leadrouter_config_info\{hash="([^"]*)"\} 1/.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1];
    for (const w of workers) expect(await hashOn(w.port)).toBe(hashOf(yaml1));

    // The load: 300 leads, one every ~10 ms, each with the time its POST began.
    const posted: Array<{ id: string; at: number }> = [];
    const load = (async () => {
      for (let i = 0; i < 300; i++) {
        const at = Date.now();
        const res = await fetch(`${base}/v1/leads`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': KEY },
          body: JSON.stringify({ name: 'Reload Load', phone: uniquePhone(), geo: 'US', source: 'Facebook' }),
        });
        const body = (await res.json()) as { id?: string };
        if (res.status !== 202 || !body.id) throw new Error(`lead ${i} refused: ${res.status} ${JSON.stringify(body)}`);
        posted.push({ id: body.id, at });
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    load.catch(() => undefined);

    // ~50 deliveries in: remove b, add c.
    await waitFor(() => (arrivals.length >= 50 ? true : undefined), 60_000, '50 deliveries');
    writeFileSync(configFile, yaml2);
    const reload = await fetch(`${base}/v1/admin/config/reload`, { method: 'POST', headers: { 'x-api-key': ADMIN } });
    const reloadedAt = Date.now();
    const postedAtReload = posted.length;
    const arrivedAtReload = arrivals.length;
    expect({ status: reload.status, body: await reload.json() }).toEqual({ status: 200, body: { ok: true, hash: hashOf(yaml2), previousHash: hashOf(yaml1), processes: 3 } });
    // Mid-flight: leads were still to be posted, and many posted had not reached a buyer yet.
    expect(postedAtReload).toBeLessThan(250);
    expect(arrivedAtReload).toBeLessThan(postedAtReload);
    await waitFor(async () => ((await Promise.all(workers.map((w) => hashOn(w.port)))).every((h) => h === hashOf(yaml2)) ? true : undefined), 5_000, 'the new hash on both workers');

    await load;
    expect(posted).toHaveLength(300);
    const finals = await Promise.all(
      posted.map(({ id }) =>
        waitFor(
          async () => {
            const body = (await (await fetch(`${base}/v1/leads/${id}`, { headers: { 'x-api-key': ADMIN } })).json()) as LeadBody;
            return body.status === 'delivered' || body.status === 'unsold' ? body : undefined;
          },
          90_000,
          `lead ${id} final`,
        ),
      ),
    );
    expect(finals.filter((l) => l.status !== 'delivered').map((l) => [l.id, l.status, l.reason])).toEqual([]);

    // Each lead reached exactly one buyer, once (they all answer 200: no retries), the one its record names.
    const byLead = new Map<string, string[]>();
    for (const arrival of arrivals) byLead.set(arrival.leadId, [...(byLead.get(arrival.leadId) ?? []), arrival.buyer]);
    for (const lead of finals) {
      const tries = lead.events.filter((e) => e.type === 'attempt').map((e) => `${String(e.destination)}:${String(e.outcome)}`);
      expect({ id: lead.id, buyers: byLead.get(lead.id) ?? [], tries }).toEqual({ id: lead.id, buyers: [lead.destination], tries: [`${String(lead.destination)}:accepted`] });
    }
    expect(arrivals).toHaveLength(300);

    // After the reload (and the ~1 s it may take to reach every process): a or c, never b.
    const late = new Set(posted.filter((p) => p.at >= reloadedAt + 1000).map((p) => p.id));
    expect(late.size).toBeGreaterThan(20);
    const lateFinals = finals.filter((l) => late.has(l.id));
    expect(lateFinals.filter((l) => l.destination !== 'a' && l.destination !== 'c').map((l) => [l.id, l.destination])).toEqual([]);
    expect(lateFinals.filter((l) => l.destination === 'c').length).toBeGreaterThan(0);
    // Nothing was sent to b once the reload was in force: the jobs that waited for it moved on.
    expect(arrivals.filter((x) => x.buyer === 'b' && x.at > reloadedAt + 2000).map((x) => [x.leadId, x.at - reloadedAt])).toEqual([]);
    const plannedBFirst = finals.filter((l) => {
      const routed = l.events.find((e) => e.type === 'routed') as { candidates?: string[] } | undefined;
      return routed?.candidates?.[0] === 'b';
    });
    const movedOn = plannedBFirst.filter((l) => l.destination === 'a');
    expect(movedOn.length).toBeGreaterThan(0);
    // Before the reload b took some, after it c did.
    expect(finals.some((l) => l.destination === 'b')).toBe(true);
    expect(finals.some((l) => l.destination === 'c')).toBe(true);

    // Nothing left behind in any queue, b's included.
    const redis = testRedisClient({ maxRetriesPerRequest: null });
    try {
      for (const name of [QUEUES.route, deliverQueueName('a'), deliverQueueName('b'), deliverQueueName('c')]) {
        const queue = new Queue(name, { connection: redis, prefix: queuePrefix(prefix, name) });
        expect({ name, ...(await queue.getJobCounts('active', 'waiting', 'delayed', 'failed')) }).toEqual({ name, active: 0, waiting: 0, delayed: 0, failed: 0 });
        await queue.close();
      }
    } finally {
      redis.disconnect();
    }
    for (const w of workers) expect(w.role.child.exitCode).toBeNull();
  }, 180_000);

  test('a reload removes b while leads wait for it, then the workers are replaced (a rolling restart): the leads that waited for b still end final', async () => {
    const received = new Map<string, string[]>();
    const accept = (name: string, delayMs: number) => (req: { headers: Record<string, string | string[] | undefined> }, res: ServerResponse): void => {
      const id = String(req.headers['x-lead-id']);
      received.set(id, [...(received.get(id) ?? []), name]);
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"success"}'), delayMs);
    };
    // b has one slot and a slow buyer: while its one request is in flight, the others wait.
    const a = await startTestServer(accept('a', 0));
    const b = await startTestServer(accept('b', 2000));
    cleanup.push(() => a.close(), () => b.close());
    const yaml1 = systemYaml(`
destinations:
  - { id: a, url: "${a.url}/", timeoutMs: 10000, concurrency: 20 }
  - { id: b, url: "${b.url}/", timeoutMs: 10000, concurrency: 1 }
routes:
  - id: main
    strategy: priority
    destinations: [{ id: b }, { id: a }]
`);
    const yaml2 = systemYaml(`
destinations:
  - { id: a, url: "${a.url}/", timeoutMs: 10000, concurrency: 20 }
routes:
  - id: main
    strategy: priority
    destinations: [{ id: a }]
`);
    const dir = mkdtempSync(join(tmpdir(), 'lr-reload-restart-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'leadrouter.yaml');
    writeFileSync(configFile, yaml1);
    const prefix = uniquePrefix();
    const childEnv = { REDIS_URL: testRedisUrl(), LEADROUTER_PREFIX: prefix, LEADROUTER_CONFIG: configFile, HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    const env = { ...readEnv({ ...childEnv, ADMIN_API_KEY: ADMIN }), intakePort: 0 };
    const intake: IntakeHandle = await startIntake({ env, config: parseConfigText(yaml1, {}), logger: captureLogger('intake', 'warn').logger, configFile });
    cleanup.push(() => intake.close());
    const base = `http://127.0.0.1:${intake.port}`;
    const first = await Promise.all([spawnWorker(childEnv), spawnWorker(childEnv)]);

    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${base}/v1/leads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body: JSON.stringify({ name: 'Reload Restart', phone: uniquePhone(), geo: 'US', source: 'Facebook' }),
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const queueB = async (): Promise<{ waiting: number; active: number }> => {
      const res = await fetch(`${base}/v1/admin/destinations`, { headers: { 'x-api-key': ADMIN } });
      const body = (await res.json()) as { destinations: Array<{ id: string; queue: { waiting: number; active: number } }> };
      return body.destinations.find((d) => d.id === 'b')?.queue ?? { waiting: 0, active: 0 };
    };
    await waitFor(async () => {
      const q = await queueB();
      return b.requests.length === 1 && q.active === 1 && q.waiting === ids.length - 1 ? true : undefined;
    }, 30_000, 'one lead at b, the others waiting for it');

    writeFileSync(configFile, yaml2);
    const reload = await fetch(`${base}/v1/admin/config/reload`, { method: 'POST', headers: { 'x-api-key': ADMIN } });
    expect(reload.status).toBe(200);
    await reload.arrayBuffer();
    // The rolling restart: each old worker stops gracefully (its request in flight finishes), new ones start on the new file.
    expect(await Promise.all(first.map((w) => w.role.stop('SIGTERM')))).toEqual([0, 0]);
    await Promise.all([spawnWorker(childEnv), spawnWorker(childEnv)]);

    const finals = await Promise.all(
      ids.map((id) =>
        waitFor(
          async () => {
            const body = (await (await fetch(`${base}/v1/leads/${id}`, { headers: { 'x-api-key': ADMIN } })).json()) as LeadBody;
            return body.status === 'delivered' || body.status === 'unsold' ? body : undefined;
          },
          30_000,
          `lead ${id} final (it was waiting for b, which the reload removed, when the workers were replaced)`,
        ).catch(async () => (await (await fetch(`${base}/v1/leads/${id}`, { headers: { 'x-api-key': ADMIN } })).json()) as LeadBody),
      ),
    );
    // What is left on b's queue, which no worker serves any more.
    const redis = testRedisClient({ maxRetriesPerRequest: null });
    let leftForB: Record<string, number>;
    try {
      const queue = new Queue(deliverQueueName('b'), { connection: redis, prefix: queuePrefix(prefix, deliverQueueName('b')) });
      leftForB = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      await queue.close();
    } finally {
      redis.disconnect();
    }
    // The one in flight was sold to b (whichever the two workers routed first); every other ended
    // at a, each at one buyer; nothing is left waiting for b.
    const inFlight = String(b.requests[0]?.headers['x-lead-id']);
    expect(ids).toContain(inFlight);
    expect({ leads: finals.map((l) => [l.status, l.destination]), leftForB }).toEqual({
      leads: ids.map((id) => ['delivered', id === inFlight ? 'b' : 'a']),
      leftForB: { waiting: 0, active: 0, delayed: 0, failed: 0 },
    });
    for (const lead of finals) expect(received.get(lead.id)).toEqual([lead.destination]);
  }, 120_000);
});
