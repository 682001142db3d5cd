import type { ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { Queue } from 'bullmq';
import { deliverQueueName, freePort, QUEUES, queuePrefix } from '@leadrouter/redis';
import { spawnRole, startTestServer, testRedisClient, testRedisUrl, uniquePrefix, waitFor, type RoleProcess } from '@leadrouter/testing';
import { ADMIN, KEY, systemYaml, uniquePhone, type LeadBody } from '@leadrouter/testing/system';

describe('rolling deploy', () => {
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  test('SIGTERM of every role in turn during load, each replaced: every accepted lead ends final, none sold twice, nothing left active', async () => {
    const accepted = new Map<string, Set<string>>();
    const buyer = (name: string) => async (req: { headers: Record<string, string | string[] | undefined> }, res: ServerResponse) => {
      const id = String(req.headers['x-lead-id']);
      setTimeout(() => {
        if (!accepted.has(id)) accepted.set(id, new Set());
        accepted.get(id)!.add(name);
        res.writeHead(200).end('{}');
      }, 100);
    };
    const a = await startTestServer(buyer('a'));
    const b = await startTestServer(buyer('b'));
    cleanup.push(() => a.close(), () => b.close());
    const yaml = systemYaml(`
destinations:
  - { id: a, url: "${a.url}/", concurrency: 30, timeoutMs: 3000 }
  - { id: b, url: "${b.url}/", concurrency: 30, timeoutMs: 3000 }
routes:
  - id: split
    strategy: round_robin
    destinations: [{ id: a }, { id: b }]
`);
    const dir = mkdtempSync(join(tmpdir(), 'lr-rolling-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'leadrouter.yaml'), yaml);
    const prefix = uniquePrefix();
    const ports = { intake: await freePort(), postback: await freePort() };
    const env = { REDIS_URL: testRedisUrl(), LEADROUTER_PREFIX: prefix, LEADROUTER_CONFIG: join(dir, 'leadrouter.yaml'), ADMIN_API_KEY: ADMIN, HOST: '127.0.0.1', LOG_LEVEL: 'warn', INTAKE_PORT: String(ports.intake), POSTBACK_PORT: String(ports.postback) };
    const start = async (role: string): Promise<RoleProcess> => {
      const workerPort = String(await freePort());
      const started = spawnRole(role, { ...env, WORKER_PORT: workerPort });
      cleanup.push(() => started.stop());
      const port = role === 'intake-api' ? ports.intake : role === 'postback' ? ports.postback : Number(workerPort);
      await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined), 30_000, `${role} ready`);
      return started;
    };
    const stop = async (role: RoleProcess): Promise<void> => {
      expect(await role.stop('SIGTERM')).toBe(0);
    };
    const intake = await start('intake-api');
    const postback = await start('postback');
    const workers = [await start('worker'), await start('worker')];

    // Load: a lead every 10 ms; only 202s are promises (a refused connection during the intake's
    // restart is the client's to retry).
    const ids: string[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        const res = await fetch(`http://127.0.0.1:${ports.intake}/v1/leads`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': KEY },
          body: JSON.stringify({ name: 'Rolling Deploy', phone: uniquePhone(), geo: 'US', source: 'Facebook' }),
        }).catch(() => undefined);
        if (res?.status === 202) ids.push(((await res.json()) as { id: string }).id);
        else await res?.arrayBuffer();
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await pause(1500);
    for (let i = 0; i < workers.length; i++) {
      await stop(workers[i] as RoleProcess);
      workers[i] = await start('worker');
      await pause(1000);
    }
    await stop(postback);
    await start('postback');
    await pause(1000);
    await stop(intake);
    await start('intake-api');
    await pause(1500);
    loading = false;
    await load;
    expect(ids.length).toBeGreaterThan(100);

    const finals = await Promise.all(
      ids.map((id) =>
        waitFor(async () => {
          const body = (await (await fetch(`http://127.0.0.1:${ports.intake}/v1/leads/${id}`, { headers: { 'x-api-key': ADMIN } })).json()) as LeadBody;
          return body.status === 'delivered' || body.status === 'unsold' ? body : undefined;
        }, 60_000, `lead ${id} final`),
      ),
    );
    expect(finals.every((l) => l.status === 'delivered')).toBe(true);
    for (const lead of finals) expect([...(accepted.get(lead.id) ?? [])]).toEqual([lead.destination]);
    const redis = testRedisClient({ maxRetriesPerRequest: null });
    try {
      for (const name of [QUEUES.route, deliverQueueName('a'), deliverQueueName('b')]) {
        const queue = new Queue(name, { connection: redis, prefix: queuePrefix(prefix, name) });
        expect({ name, ...(await queue.getJobCounts('active', 'waiting', 'failed')) }).toEqual({ name, active: 0, waiting: 0, failed: 0 });
        await queue.close();
      }
    } finally {
      redis.disconnect();
    }
  }, 180_000);
});
