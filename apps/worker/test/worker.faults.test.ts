import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from '@jest/globals';
import { freePort, startRedisServer, type OwnedRedisServer } from '@leadrouter/redis';
import { startTestServer, waitFor, type TestServer } from '@leadrouter/testing';
import { ADMIN, attempts, startSystem, systemYaml, uniquePhone, type TestSystem } from '@leadrouter/testing/system';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
async function server(handler: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const s = await startTestServer(handler);
  cleanup.push(() => s.close());
  return s;
}
async function system(yaml: string, options: Parameters<typeof startSystem>[1] = {}): Promise<TestSystem> {
  const s = await startSystem(yaml, options);
  cleanup.push(() => s.close());
  return s;
}
async function privateRedis(extraArgs: string[] = []): Promise<OwnedRedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'lr-fault-redis-'));
  let redis = await startRedisServer({ dir, appendOnly: true, extraArgs });
  const handle: OwnedRedisServer = {
    ...redis,
    stop: async () => redis.stop(),
  };
  cleanup.push(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // Restart on the same port and directory (AOF is read back).
  (handle as OwnedRedisServer & { restart(): Promise<void> }).restart = async () => {
    await redis.stop();
    redis = await startRedisServer({ dir, appendOnly: true, port: redis.port, extraArgs });
  };
  return handle;
}
const lead = (source = 'Facebook'): Record<string, unknown> => ({ name: 'Fault Test', phone: uniquePhone(), geo: 'US', source });
const ok = (_req: unknown, res: ServerResponse): void => {
  res.writeHead(200).end('{}');
};

describe('faults', () => {
  test('all destinations down, then back: leads end unsold with every try recorded; admin redelivery sells each exactly once', async () => {
    let up = false;
    const buyer = await server((_req, res) => (up ? ok(_req, res) : res.writeHead(503).end()));
    const sys = await system(
      systemYaml(`
destinations:
  - { id: only, url: "${buyer.url}/", retry: { attempts: 1, backoffMs: 20 }, circuit: { failures: 1000 } }
routes:
  - id: all
    destinations: [{ id: only }]
`),
    );
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push((await sys.post(lead())).body.id as string);
    const unsold = await Promise.all(ids.map((id) => sys.final(id)));
    expect(unsold.every((l) => l.status === 'unsold' && l.reason === 'all_rejected')).toBe(true);
    expect(unsold.every((l) => attempts(l).length === 2 && attempts(l).every((a) => a.outcome === 'error' && a.httpStatus === 503))).toBe(true);

    up = true;
    const admin = { 'x-api-key': ADMIN, 'content-type': 'application/json' };
    const single = await fetch(`http://127.0.0.1:${sys.intake.port}/v1/admin/leads/${ids[0]}/redeliver`, { method: 'POST', headers: admin });
    expect(single.status).toBe(202);
    expect((await sys.final(ids[0] as string)).status).toBe('delivered');
    // A lead that was sold is never redelivered.
    const again = await fetch(`http://127.0.0.1:${sys.intake.port}/v1/admin/leads/${ids[0]}/redeliver`, { method: 'POST', headers: admin });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ ok: false, reason: 'not_unsold', status: 'delivered' });
    expect((await fetch(`http://127.0.0.1:${sys.intake.port}/v1/admin/leads/${ids[1]}/redeliver`, { method: 'POST', headers: { 'x-api-key': 'nope' } })).status).toBe(401);

    const bulk = await fetch(`http://127.0.0.1:${sys.intake.port}/v1/admin/leads/redeliver`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ from: new Date(Date.now() - 60_000).toISOString(), reason: 'all_rejected' }),
    });
    expect(bulk.status).toBe(202);
    const summary = (await bulk.json()) as { requeued: number; ids: string[] };
    expect(summary.requeued).toBe(5);
    expect([...summary.ids].sort()).toEqual(ids.slice(1).sort());
    const finals = await Promise.all(ids.map((id) => sys.final(id)));
    expect(finals.every((l) => l.status === 'delivered')).toBe(true);
    // Each lead reached the buyer's success path once: one accepted try per lead, and all tries recorded.
    for (const l of finals) {
      expect(attempts(l).filter((a) => a.outcome === 'accepted')).toHaveLength(1);
      expect(l.events.some((e) => e.type === 'requeued')).toBe(true);
    }
    const accepted = buyer.requests.length - 12;
    expect(accepted).toBe(6);
    // Running the bulk replay again finds nothing left to redeliver.
    const none = await fetch(`http://127.0.0.1:${sys.intake.port}/v1/admin/leads/redeliver`, { method: 'POST', headers: admin, body: '{}' });
    expect(((await none.json()) as { requeued: number }).requeued).toBe(0);
  });

  test('Redis restarted (AOF on) with 2,000 leads queued: all still there and delivered after', async () => {
    const redis = (await privateRedis()) as OwnedRedisServer & { restart(): Promise<void> };
    const buyer = await server(ok);
    const yaml = systemYaml(`
destinations:
  - { id: buyer, url: "${buyer.url}/", concurrency: 50 }
routes:
  - id: all
    destinations: [{ id: buyer }]
`);
    // Intake only at first: the leads wait in the queue.
    const intakeOnly = await startSystem(yaml, { workers: 0, env: { redisUrl: redis.url } });
    const ids: string[] = [];
    for (let batch = 0; batch < 100; batch++) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => intakeOnly.post(lead())));
      for (const a of answers) {
        expect(a.status).toBe(202);
        ids.push(a.body.id as string);
      }
    }
    await intakeOnly.close();
    await redis.restart();
    const sys = await system(yaml, { env: { redisUrl: redis.url, prefix: intakeOnly.env.prefix } });
    await waitFor(() => (buyer.requests.length >= 2000 ? true : undefined), 60_000, '2,000 deliveries');
    // Read a hundred at a time: 2,000 at once would open 2,000 connections, past the intake's cap on a slow machine.
    const finals = [];
    for (let i = 0; i < ids.length; i += 100) finals.push(...(await Promise.all(ids.slice(i, i + 100).map((id) => sys.lead(id)))));
    expect(finals.filter((l) => l.status === 'delivered')).toHaveLength(2000);
    expect(new Set(buyer.requests.map((r) => r.headers['x-lead-id'])).size).toBe(2000);
  }, 120_000);

  test('Redis full (maxmemory, noeviction): the intake answers 503, never 202 or 500; leads already accepted are intact', async () => {
    const redis = await privateRedis(['--maxmemory', '3mb']);
    const sys = await system(
      systemYaml(`
destinations:
  - { id: nowhere, url: "http://127.0.0.1:9/", enabled: false }
routes: []
`),
      { workers: 0, env: { redisUrl: redis.url } },
    );
    const accepted: string[] = [];
    const statuses = new Set<number>();
    for (let i = 0; i < 6000 && !statuses.has(503); i++) {
      const res = await sys.post({ ...lead(), notes: 'x'.repeat(900) });
      statuses.add(res.status);
      if (res.status === 202) accepted.push(res.body.id as string);
    }
    expect([...statuses].sort()).toEqual([202, 503]);
    expect(accepted.length).toBeGreaterThan(10);
    const sample = [accepted[0], accepted[Math.floor(accepted.length / 2)], accepted[accepted.length - 1]] as string[];
    for (const id of sample) expect((await sys.lead(id)).status).toBe('queued');
  }, 60_000);

  test('destinations that reset, answer garbage, send 50 MB, or redirect to an internal address: each classified, then the next one', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    cleanup.push(() => process.off('unhandledRejection', onUnhandled));
    const raw = async (onConnect: (socket: Socket) => void): Promise<string> => {
      const port = await freePort();
      const sockets = new Set<Socket>();
      const s: Server = createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined);
        onConnect(socket);
      });
      await new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
      cleanup.push(
        () =>
          new Promise((r) => {
            for (const socket of sockets) socket.destroy();
            s.close(() => r(undefined));
          }),
      );
      return `http://127.0.0.1:${port}/`;
    };
    const reset = await raw((socket) => socket.resetAndDestroy());
    const garbage = await raw((socket) => socket.end('\u0000\u00ffnot http at all\r\n\r\n'));
    const huge = await server((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(1024 * 1024, 'z');
      let sent = 0;
      const pump = (): void => {
        while (sent < 50 && res.write(chunk)) sent++;
        if (sent >= 50) res.end();
        else res.once('drain', pump);
      };
      pump();
    });
    const internal = await server((_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end());
    const good = await server(ok);
    const sys = await system(
      systemYaml(`
destinations:
  - { id: reset, url: "${reset}", retry: { attempts: 0 } }
  - { id: garbage, url: "${garbage}", retry: { attempts: 0 } }
  - { id: huge, url: "${huge.url}/", retry: { attempts: 0 }, response: { accept: { status: [200], path: ok, equals: true } } }
  - { id: internal, url: "${internal.url}/", retry: { attempts: 0 } }
  - { id: good, url: "${good.url}/" }
routes:
  - id: all
    destinations: [{ id: reset }, { id: garbage }, { id: huge }, { id: internal }, { id: good }]
`),
    );
    const final = await sys.final((await sys.post(lead())).body.id as string, 30_000);
    expect(final).toMatchObject({ status: 'delivered', destination: 'good' });
    expect(attempts(final).map((a) => [a.destination, a.outcome])).toEqual([
      ['reset', 'error'],
      ['garbage', 'error'],
      ['huge', 'error'],
      ['internal', 'error'],
      ['good', 'accepted'],
    ]);
    expect(String(attempts(final)[0]?.error)).toMatch(/ECONNRESET|socket hang up/);
    expect(String(attempts(final)[3]?.error)).toContain('redirect');
    expect(unhandled).toEqual([]);
  }, 60_000);
});
