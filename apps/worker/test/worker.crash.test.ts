import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { afterAll, describe, expect, test } from '@jest/globals';
import { parseConfigText, readEnv } from '@leadrouter/config';
import { startIntake, type IntakeHandle } from '@leadrouter/app-intake-api';
import { captureLogger, spawnRole, startTestServer, testRedisUrl, uniquePrefix, waitFor, type TestServer } from '@leadrouter/testing';
import { ADMIN, KEY, systemYaml, uniquePhone, type LeadBody } from '@leadrouter/testing/system';

describe('crash safety', () => {
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  test('kill -9 of a worker during 200 in-flight deliveries: every lead ends final, none is sold to two destinations', async () => {
    const received = new Map<string, Set<string>>();
    const accept = (name: string) => (req: { headers: Record<string, string | string[] | undefined> }, res: ServerResponse): void => {
      const id = String(req.headers['x-lead-id']);
      if (!received.has(id)) received.set(id, new Set());
      received.get(id)!.add(name);
      setTimeout(() => res.writeHead(200).end('{}'), 150);
    };
    const a: TestServer = await startTestServer(accept('a'));
    const b: TestServer = await startTestServer(accept('b'));
    cleanup.push(() => a.close(), () => b.close());
    const yaml = systemYaml(`
destinations:
  - { id: a, url: "${a.url}/", timeoutMs: 10000, concurrency: 60 }
  - { id: b, url: "${b.url}/", timeoutMs: 10000, concurrency: 60 }
routes:
  - id: split
    strategy: weighted
    destinations: [{ id: a, weight: 1 }, { id: b, weight: 1 }]
`);
    const dir = mkdtempSync(join(tmpdir(), 'lr-crash-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'leadrouter.yaml');
    writeFileSync(configFile, yaml);
    const prefix = uniquePrefix();
    const childEnv = { REDIS_URL: testRedisUrl(), LEADROUTER_PREFIX: prefix, LEADROUTER_CONFIG: configFile, WORKER_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' };

    const env = { ...readEnv({ ...childEnv, ADMIN_API_KEY: ADMIN }), intakePort: 0 };
    const intake: IntakeHandle = await startIntake({ env, config: parseConfigText(yaml, {}), logger: captureLogger('intake', 'warn').logger });
    cleanup.push(() => intake.close());
    const base = `http://127.0.0.1:${intake.port}`;

    const first = spawnRole('worker', childEnv);
    cleanup.push(() => first.stop());
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${base}/v1/leads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body: JSON.stringify({ name: 'Crash Test', phone: uniquePhone(), geo: 'US', source: 'Facebook' }),
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    // Kill the worker while many deliveries are in flight (the buyers answer after 150 ms).
    await waitFor(() => (a.requests.length + b.requests.length >= 60 ? true : undefined), 30_000, 'deliveries in flight');
    await first.stop('SIGKILL');
    const inFlightAtKill = a.requests.length + b.requests.length;
    expect(inFlightAtKill).toBeLessThan(200);

    const second = spawnRole('worker', childEnv);
    cleanup.push(() => second.stop('SIGTERM'));
    const finals = await Promise.all(
      ids.map((id) =>
        waitFor(
          async () => {
            const res = await fetch(`${base}/v1/leads/${id}`, { headers: { 'x-api-key': ADMIN } });
            const body = (await res.json()) as LeadBody;
            return body.status === 'delivered' || body.status === 'unsold' ? body : undefined;
          },
          60_000,
          `lead ${id} final`,
        ),
      ),
    );
    expect(finals.every((l) => l.status === 'delivered')).toBe(true);
    for (const lead of finals) {
      const buyers = received.get(lead.id);
      // Sold to at most one destination: each lead reached exactly one buyer, the one recorded.
      // (Its tries come along, so that a failure shows what happened: a timeout, a retry.)
      const tries = lead.events.filter((e) => e.type === 'attempt').map((e) => `${String(e.destination)}:${String(e.outcome)}:${String(e.error)}`);
      expect({ buyers: buyers && [...buyers], tries }).toEqual({ buyers: [lead.destination], tries });
    }
    // Repeats after the crash carry the same Idempotency-Key as the first try.
    for (const request of [...a.requests, ...b.requests]) expect(request.headers['idempotency-key']).toBe(request.headers['x-lead-id']);
  }, 120_000);
});
