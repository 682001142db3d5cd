import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from '@jest/globals';
import { parseConfigText, readEnv } from '@leadrouter/config';
import { startIntake } from '@leadrouter/app-intake-api';
import { freePort, startRedisServer } from '@leadrouter/redis';
import { captureLogger, startTestServer, testRedisUrl, uniquePrefix, waitFor, spawnRole, type RoleProcess } from '@leadrouter/testing';
import { ADMIN, KEY, systemYaml, uniquePhone, type LeadBody } from '@leadrouter/testing/system';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function spawnWorker(env: Record<string, string>, role = 'worker'): RoleProcess {
  const process = spawnRole(role, { ...env, HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  cleanup.push(() => process.stop());
  return process;
}

async function setUp(buyerDelayMs: number, redisUrl = testRedisUrl()) {
  const buyer = await startTestServer((_req, res) => setTimeout(() => res.writeHead(200).end('{}'), buyerDelayMs));
  cleanup.push(() => buyer.close());
  const yaml = systemYaml(`
destinations:
  - { id: slow, url: "${buyer.url}/", timeoutMs: 5000, concurrency: 20, postback: { token: "pb-token-1" } }
routes:
  - id: all
    destinations: [{ id: slow }]
`);
  const dir = mkdtempSync(join(tmpdir(), 'lr-lifecycle-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'leadrouter.yaml');
  writeFileSync(configFile, yaml);
  const env = { REDIS_URL: redisUrl, LEADROUTER_PREFIX: uniquePrefix(), LEADROUTER_CONFIG: configFile };
  return { buyer, yaml, env };
}

async function intakeFor(env: Record<string, string>, yaml: string) {
  const intake = await startIntake({
    env: { ...readEnv({ ...env, ADMIN_API_KEY: ADMIN, HOST: '127.0.0.1' }), intakePort: 0 },
    config: parseConfigText(yaml, {}),
    logger: captureLogger('intake', 'warn').logger,
    redisWaitMs: 10_000,
  });
  cleanup.push(() => intake.close());
  const base = `http://127.0.0.1:${intake.port}`;
  return {
    async post(): Promise<string> {
      const res = await fetch(`${base}/v1/leads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body: JSON.stringify({ name: 'Life Cycle', phone: uniquePhone(), geo: 'US', source: 'Facebook' }),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    },
    async lead(id: string): Promise<LeadBody> {
      return (await (await fetch(`${base}/v1/leads/${id}`, { headers: { 'x-api-key': ADMIN } })).json()) as LeadBody;
    },
  };
}

/**
 * Starts `role` as its own process against a Redis port where nothing listens yet; checks it is
 * alive but not ready; `redisComes()` then starts Redis there and waits until the role is ready.
 */
async function roleBeforeRedis(role: string, portVariable: string) {
  const redisPort = await freePort();
  const { yaml, env } = await setUp(0, `redis://127.0.0.1:${redisPort}`);
  const port = await freePort();
  spawnWorker({ ...env, [portVariable]: String(port) }, role);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok ? true : undefined), 20_000, `${role} alive`);
  expect((await fetch(`${base}/readyz`)).status).toBe(503);
  return {
    base,
    env,
    yaml,
    async redisComes(): Promise<void> {
      const dir = mkdtempSync(join(tmpdir(), 'lr-late-redis-'));
      const redis = await startRedisServer({ dir, port: redisPort, appendOnly: false });
      cleanup.push(async () => {
        await redis.stop();
        rmSync(dir, { recursive: true, force: true });
      });
      await waitFor(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), 20_000, `${role} ready`);
    },
  };
}

describe('worker lifecycle', () => {
  test('SIGTERM finishes the deliveries in hand, then exits 0: every lead is delivered, none left active', async () => {
    const { buyer, yaml, env } = await setUp(700);
    const port = await freePort();
    const worker = spawnWorker({ ...env, WORKER_PORT: String(port) });
    const intake = await intakeFor(env, yaml);
    await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined), 20_000, 'worker ready');
    const ids = await Promise.all(Array.from({ length: 10 }, () => intake.post()));
    await waitFor(() => (buyer.requests.length === 10 ? true : undefined), 10_000, 'all 10 deliveries in flight');
    expect(await worker.stop('SIGTERM')).toBe(0);
    const statuses = await Promise.all(ids.map(async (id) => (await intake.lead(id)).status));
    expect(statuses).toEqual(Array(10).fill('delivered'));
    expect(buyer.requests).toHaveLength(10);
  }, 60_000);

  test('a worker started while Redis is down serves /healthz, answers 503 on /readyz, then works once Redis comes', async () => {
    const { env, yaml, redisComes } = await roleBeforeRedis('worker', 'WORKER_PORT');
    await redisComes();
    const intake = await intakeFor(env, yaml);
    const id = await intake.post();
    const lead = await waitFor(async () => {
      const l = await intake.lead(id);
      return l.status === 'delivered' ? l : undefined;
    }, 20_000, 'the lead delivered');
    expect(lead.destination).toBe('slow');
  }, 60_000);

  test('the intake started while Redis is down answers 503 (never 202), then 202 once Redis comes', async () => {
    const { base, redisComes } = await roleBeforeRedis('intake-api', 'INTAKE_PORT');
    const post = async (): Promise<Response> =>
      fetch(`${base}/v1/leads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body: JSON.stringify({ name: 'Early Bird', phone: uniquePhone(), geo: 'US', source: 'Facebook' }),
      });
    const early = await post();
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('1');
    await redisComes();
    expect((await post()).status).toBe(202);
  }, 60_000);

  test('the postback service started while Redis is down answers /healthz, is not ready, then serves postbacks once Redis comes', async () => {
    const { base, redisComes } = await roleBeforeRedis('postback', 'POSTBACK_PORT');
    await redisComes();
    // No such lead, but Redis was asked: the answer is the contract's 404, not a 503.
    const res = await fetch(`${base}/v1/postbacks/slow?lead_id=01ARZ3NDEKTSV4RRFFQ69G5FAV&status=accepted&token=pb-token-1`);
    expect(res.status).toBe(404);
  }, 60_000);
});
