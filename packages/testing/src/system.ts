/**
 * The whole system in one test process: intake, postback service and workers on a fresh prefix of
 * the suite's private Redis, with real HTTP between them, and the small helpers its tests share.
 */
import { parseConfigText, type ServiceEnv } from '@leadrouter/config';
import { startIntake, type IntakeHandle } from '@leadrouter/app-intake-api';
import { startPostback, type PostbackHandle } from '@leadrouter/app-postback';
import type { ServerResponse } from 'node:http';
import { afterEach } from '@jest/globals';
import { startWorker, type StartWorkerOptions, type WorkerHandle } from '@leadrouter/app-worker';
import { testEnv } from './env.js';
import { startTestServer, type TestServer } from './http-server.js';
import { captureLogger } from './log-capture.js';
import { waitFor } from './wait-for.js';

export const KEY = 'supplier-key-1';
export const ADMIN = 'admin-key-1';

/** A config with one supplier (plus `supplierExtra` YAML lines) and the given destinations/routes sections. */
export function systemYaml(destinationsAndRoutes: string, supplierExtra = ''): string {
  return `
dedupe: { window: 0 }
suppliers:
  - id: acme
    apiKeys: ["${KEY}"]
${supplierExtra
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => `    ${l.trim()}`)
  .join('\n')}
${destinationsAndRoutes}`;
}

export interface LeadBody {
  id: string;
  status: string;
  reason?: string;
  destination?: string | null;
  payout?: number | null;
  events: Array<Record<string, unknown> & { type: string }>;
}

export interface TestSystem {
  env: ServiceEnv;
  intake: IntakeHandle;
  postback: PostbackHandle;
  /** Base URL of the postback service. */
  postbackUrl: string;
  workers: WorkerHandle[];
  logs: ReturnType<typeof captureLogger>;
  post(lead?: Record<string, unknown>, query?: string): Promise<{ status: number; body: Record<string, unknown> }>;
  lead(id: string): Promise<LeadBody>;
  /** Waits until the lead is delivered or unsold and returns it (admin view). */
  final(id: string, timeoutMs?: number): Promise<LeadBody>;
  metrics(): Promise<string>;
  close(): Promise<void>;
}

let counter = 0;
export function uniquePhone(): string {
  counter += 1;
  return `+1415${String(2000000 + ((process.pid * 7919 + counter) % 7000000)).padStart(7, '0')}`;
}

/** Intake and `workers` worker instances in this process, sharing a fresh prefix on the test Redis. */
export async function startSystem(
  yaml: string,
  options: { workers?: number; worker?: Partial<StartWorkerOptions>; env?: Partial<ServiceEnv> } = {},
): Promise<TestSystem> {
  const env = testEnv({ adminApiKey: ADMIN, ...options.env });
  const config = parseConfigText(yaml, {});
  const logs = captureLogger('system', 'info');
  const workers: WorkerHandle[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) {
    workers.push(
      await startWorker({
        env,
        config,
        logger: logs.logger,
        stalledIntervalMs: 1000,
        housekeepingIntervalMs: 200,
        notifier: { backoffMs: 50, attempts: 5 },
        ...options.worker,
      }),
    );
  }
  const intake = await startIntake({ env, config, logger: logs.logger });
  const postback = await startPostback({ env, config, logger: logs.logger, notifier: { backoffMs: 50, attempts: 5 } });
  const base = `http://127.0.0.1:${intake.port}`;
  const lead = async (id: string): Promise<LeadBody> => {
    const res = await fetch(`${base}/v1/leads/${id}`, { headers: { 'x-api-key': ADMIN } });
    return (await res.json()) as LeadBody;
  };
  return {
    env,
    intake,
    postback,
    postbackUrl: `http://127.0.0.1:${postback.port}`,
    workers,
    logs,
    async post(body = { name: 'Jane Roe', phone: uniquePhone(), geo: 'US', source: 'Facebook' }, query = '') {
      const res = await fetch(`${base}/v1/leads${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    lead,
    async final(id, timeoutMs = 15_000) {
      return waitFor(async () => {
        const body = await lead(id);
        return body.status === 'delivered' || body.status === 'unsold' ? body : undefined;
      }, timeoutMs, `lead ${id} to be delivered or unsold`);
    },
    async metrics() {
      const ports = [...workers.map((w) => w.port), postback.port];
      return (await Promise.all(ports.map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()))).join('\n');
    },
    async close() {
      await intake.close();
      await postback.close();
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

export function attempts(lead: LeadBody): Array<Record<string, unknown>> {
  return lead.events.filter((e) => e.type === 'attempt');
}

/**
 * Test servers and systems that close themselves after each test:
 * `const { server, system } = closedAfterEach();` at the top of a test file.
 */
export function closedAfterEach(): {
  server(handler: Parameters<typeof startTestServer>[0]): Promise<TestServer>;
  system(yaml: string, options?: Parameters<typeof startSystem>[1]): Promise<TestSystem>;
} {
  const open: Array<{ close(): Promise<unknown> }> = [];
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
  });
  const track = <T extends { close(): Promise<unknown> }>(thing: T): T => {
    open.push(thing);
    return thing;
  };
  return {
    server: async (handler) => track(await startTestServer(handler)),
    system: async (yaml, options) => track(await startSystem(yaml, options)),
  };
}

/** A buyer that accepts every lead at once. */
export function acceptAll(_req: unknown, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"success"}');
}
