import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseConfigText, sha256Hex, type ServiceEnv } from '@leadrouter/config';
import { QUEUES, queuePrefix } from '@leadrouter/redis';
import { captureLogger, keysWithPrefix, testEnv, testRedisClient } from '@leadrouter/testing';
import { startIntake, type IntakeHandle } from '../src/start.js';

export const ALPHA_KEY = 'alpha-key-123';
export const BETA_KEY = 'beta-key-456';
export const LIMITED_KEY = 'limited-key-789';
export const ADMIN_KEY = 'admin-key-000';

export function intakeConfigYaml(extra = ''): string {
  return `
dedupe: { window: 1h, scope: supplier, by: [phone] }
suppliers:
  - id: alpha
    apiKeys: ["${ALPHA_KEY}"]
  - id: beta
    apiKeys: ["sha256:${sha256Hex(BETA_KEY)}"]
  - id: limited
    apiKeys: ["${LIMITED_KEY}"]
    rateLimit: { perSecond: 2, burst: 2 }
destinations:
  - id: buyer
    url: "http://127.0.0.1:9/leads"
    payout: 7.5
routes:
  - id: social
    match: { source: [Facebook, TikTok] }
    destinations: [{ id: buyer }]
${extra}`;
}

export interface TestIntake {
  url: string;
  env: ServiceEnv;
  handle: IntakeHandle;
  redis: Redis;
  queue: Queue;
  logs: ReturnType<typeof captureLogger>;
  post(body: unknown, headers?: Record<string, string>, query?: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  get(path: string, key?: string): Promise<{ status: number; body: Record<string, unknown> }>;
  storedLeadCount(): Promise<number>;
  queuedJobCount(): Promise<number>;
  close(): Promise<void>;
}

export async function startTestIntake(yaml = intakeConfigYaml(), envOverrides: Partial<ServiceEnv> = {}): Promise<TestIntake> {
  const env = testEnv({ adminApiKey: ADMIN_KEY, ...envOverrides });
  const config = parseConfigText(yaml, {});
  const logs = captureLogger('intake', 'info');
  const handle = await startIntake({ env, config, logger: logs.logger });
  const url = `http://127.0.0.1:${handle.port}`;
  const redis = testRedisClient();
  const queue = new Queue(QUEUES.route, { connection: redis, prefix: queuePrefix(env.prefix, QUEUES.route) });
  return {
    url,
    env,
    handle,
    redis,
    queue,
    logs,
    async post(body, headers = {}, query = '') {
      const isString = typeof body === 'string' || Buffer.isBuffer(body);
      const res = await fetch(`${url}/v1/leads${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': ALPHA_KEY, ...headers },
        body: isString ? (body as string) : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
    },
    async get(path, key = ALPHA_KEY) {
      const res = await fetch(`${url}${path}`, { headers: { 'x-api-key': key } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async storedLeadCount() {
      // Any key of a lead (state, data or events) counts: a half-stored lead must show up too.
      // `<prefix>:lead:{<bucket>}:<id>[:data|:events]`: the id is the fourth part.
      return new Set((await keysWithPrefix(redis, `${env.prefix}:lead`)).map((k) => k.split(':')[3])).size;
    },
    async queuedJobCount() {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    async close() {
      await handle.close();
      await queue.close();
      redis.disconnect();
    },
  };
}

let phoneCounter = 0;
/** A valid US lead with a phone number of its own (so dedupe never trips by accident). */
export function validLead(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  phoneCounter += 1;
  const line = String(1000 + (phoneCounter % 9000)).padStart(4, '0');
  const exchange = 200 + Math.floor(phoneCounter / 9000) + (process.pid % 500);
  return { name: 'Jane Roe', phone: `(415) ${exchange}-${line}`, geo: 'us', source: 'Facebook', ...overrides };
}
