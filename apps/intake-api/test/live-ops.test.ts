import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { parseConfigText, readEnv } from '@leadrouter/config';
import { freePort, redisKeys } from '@leadrouter/redis';
import { startLedger } from '@leadrouter/app-ledger';
import { startIntake, type IntakeHandle } from '@leadrouter/app-intake-api';
import { captureLogger, freshDatabase, spawnRole, startTestServer, testRedisClient, testRedisUrl, uniquePrefix, waitFor, type RoleProcess, type TestServer } from '@leadrouter/testing';
import { ADMIN, KEY, systemYaml, uniquePhone, type LeadBody } from '@leadrouter/testing/system';

/**
 * Live operations (contract §11): pause, resume and cap overrides of a destination through the
 * admin API, in force in every process (spawned workers that never saw the API call) within about
 * a second and across restarts; their audit trail in the ledger; and config reloads (API and
 * SIGHUP) that add destinations without a restart and refuse an invalid file with every problem.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** What `leadrouter_config_info{hash}` shows for a file: the first 12 hex digits of the SHA-256 of its text. */
const hashOf = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 12);

/** Cleanups of the running test, run after it (so no test's processes load the machine during the next). */
let open: Array<() => unknown> = [];
const closeAll = async (): Promise<void> => {
  const fns = open.reverse();
  open = [];
  for (const fn of fns) {
    try {
      await fn();
    } catch {
      // Keep closing the rest.
    }
  }
};
afterEach(closeAll);
afterAll(closeAll);

/** A buyer that accepts every lead (after `delayMs`), recording each request. */
async function buyer(delayMs = 0): Promise<TestServer> {
  const server = await startTestServer((_req, res: ServerResponse) => {
    const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"success"}');
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  open.push(() => server.close());
  return server;
}

/** The X-Lead-Id of every request a buyer received. */
const leadsAt = (server: TestServer): string[] => server.requests.map((r) => String(r.headers['x-lead-id']));

interface SpawnedWorker {
  role: RoleProcess;
  port: number;
  metrics(): Promise<string>;
  /** The hash of leadrouter_config_info on its /metrics. */
  configHash(): Promise<string | undefined>;
  /** Its delivery attempts (leadrouter_delivery_attempts_total) to one destination, every outcome. */
  attempts(destination: string): Promise<number>;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

interface Install {
  base: string;
  configFile: string;
  prefix: string;
  childEnv: Record<string, string>;
  intake: IntakeHandle;
  workers: SpawnedWorker[];
  spawnWorker(): Promise<SpawnedWorker>;
  /** Spawns one more process of the install (not counted in `workers`). */
  spawn(app: 'worker' | 'postback' | 'ledger'): Promise<SpawnedWorker>;
  /** Starts the intake (again): in this process, on the install's config file. */
  startIntake(): Promise<IntakeHandle>;
  post(): Promise<string>;
  /** Posts a lead with this supplier key: the answer's status, and the lead's id when accepted. */
  postAs(key: string): Promise<{ status: number; id: string | undefined }>;
  lead(id: string): Promise<LeadBody>;
  final(id: string, timeoutMs?: number): Promise<LeadBody>;
  admin(method: string, path: string, body?: string, headers?: Record<string, string>): Promise<Answer>;
  intakeHash(): Promise<string | undefined>;
  destination(id: string): Promise<Record<string, unknown>>;
}

const configHashIn = (metrics: string): string | undefined => {
  const hashes = [...metrics.matchAll(/^leadrouter_config_info\{hash="([^"]*)"\} 1$/gm)].map((m) => m[1] as string);
  // One line only: a reload replaces the old hash rather than adding one.
  return hashes.length === 1 ? hashes[0] : hashes.length === 0 ? undefined : `several: ${hashes.join(',')}`;
};

const sumOf = (metrics: string, name: string, label: string): number =>
  metrics
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(label))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);

async function startInstall(yaml: string, options: { workers?: number; databaseUrl?: string; ledgerWriter?: boolean } = {}): Promise<Install> {
  const dir = mkdtempSync(join(tmpdir(), 'lr-live-ops-'));
  open.push(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'leadrouter.yaml');
  writeFileSync(configFile, yaml);
  const prefix = uniquePrefix();
  const childEnv: Record<string, string> = {
    REDIS_URL: testRedisUrl(),
    LEADROUTER_PREFIX: prefix,
    LEADROUTER_CONFIG: configFile,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
  };
  const env = { ...readEnv({ ...childEnv, ADMIN_API_KEY: ADMIN }), intakePort: 0 };
  const logs = captureLogger('intake', 'warn');
  const install: Install = {
    base: '',
    configFile,
    prefix,
    childEnv,
    intake: undefined as unknown as IntakeHandle,
    workers: [],
    async startIntake() {
      const intake = await startIntake({ env, config: parseConfigText(yaml, {}), logger: logs.logger, configFile });
      let closed = false;
      const close = intake.close.bind(intake);
      intake.close = async () => {
        if (closed) return;
        closed = true;
        await close();
      };
      open.push(() => intake.close());
      install.intake = intake;
      install.base = `http://127.0.0.1:${intake.port}`;
      return intake;
    },
    async spawnWorker() {
      const worker = await install.spawn('worker');
      install.workers.push(worker);
      return worker;
    },
    async spawn(app) {
      const port = await freePort();
      const portVar = { worker: 'WORKER_PORT', postback: 'POSTBACK_PORT', ledger: 'LEDGER_PORT' }[app];
      const role = spawnRole(app, { ...childEnv, [portVar]: String(port) });
      open.push(() => role.stop());
      await waitFor(
        async () => {
          if (role.child.exitCode !== null || role.child.signalCode !== null) throw new Error(`${app} exited (${role.child.exitCode ?? role.child.signalCode}) before it was ready`);
          const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          await res?.arrayBuffer();
          return res?.ok ? true : undefined;
        },
        60_000,
        `a spawned ${app} to be ready`,
      );
      const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return {
        role,
        port,
        metrics,
        configHash: async () => configHashIn(await metrics()),
        attempts: async (destination) => sumOf(await metrics(), 'leadrouter_delivery_attempts_total', `destination="${destination}"`),
      };
    },
    async post() {
      const answer = await install.postAs(KEY);
      expect(answer.status).toBe(202);
      return answer.id as string;
    },
    async postAs(key) {
      const res = await fetch(`${install.base}/v1/leads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ name: 'Live Ops', phone: uniquePhone(), geo: 'US', source: 'Facebook' }),
      });
      const body = (await res.json()) as { id?: string };
      return { status: res.status, id: body.id };
    },
    async lead(id) {
      return (await (await fetch(`${install.base}/v1/leads/${id}`, { headers: { 'x-api-key': ADMIN } })).json()) as LeadBody;
    },
    async final(id, timeoutMs = 30_000) {
      return waitFor(
        async () => {
          const body = await install.lead(id);
          return body.status === 'delivered' || body.status === 'unsold' ? body : undefined;
        },
        timeoutMs,
        `lead ${id} delivered or unsold`,
      );
    },
    async admin(method, path, body, headers = {}) {
      const res = await fetch(`${install.base}${path}`, {
        method,
        headers: { 'x-api-key': ADMIN, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body }),
      });
      const text = await res.text();
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = { nonJson: text.slice(0, 200) };
      }
      return { status: res.status, body: parsed };
    },
    async intakeHash() {
      return configHashIn(await (await fetch(`${install.base}/metrics`)).text());
    },
    async destination(id) {
      const answer = await install.admin('GET', '/v1/admin/destinations');
      expect(answer.status).toBe(200);
      const found = (answer.body.destinations as Array<Record<string, unknown>>).find((d) => d.id === id);
      if (!found) throw new Error(`destination ${id} not in GET /v1/admin/destinations: ${JSON.stringify(answer.body)}`);
      return found;
    },
  };
  if (options.databaseUrl && options.ledgerWriter) {
    // First, so that its migrations have run before the intake's own ledger connection looks.
    const ledger = await startLedger({ env: { ...env, ledgerPort: 0 }, logger: captureLogger('ledger', 'warn').logger, port: 0 });
    open.push(() => ledger.close());
  }
  await install.startIntake();
  // Started side by side: each needs a few seconds (tsx) on a slow machine.
  await Promise.all(Array.from({ length: options.workers ?? 0 }, () => install.spawnWorker()));
  return install;
}

/** The key of a supplier that only a reloaded config has. */
const BETA = 'supplier-key-beta';

/** Destinations a (tried first) and b, as a priority route. */
const priorityYaml = (a: TestServer, b: TestServer, aExtra = ''): string =>
  systemYaml(`
destinations:
  - { id: a, url: "${a.url}/", timeoutMs: 10000, concurrency: 20${aExtra} }
  - { id: b, url: "${b.url}/", timeoutMs: 10000, concurrency: 20 }
routes:
  - id: main
    strategy: priority
    destinations: [{ id: a }, { id: b }]
`);

/** The destinations a lead was offered to, in order (its attempt events). */
const triedBy = (lead: LeadBody): string[] => lead.events.filter((e) => e.type === 'attempt').map((e) => String(e.destination));

describe('live operations (contract §11)', () => {
  test('a pause through the API is in force within ~1 s in two worker processes that never saw the call; resume brings the destination back', async () => {
    const a = await buyer();
    const b = await buyer();
    const sys = await startInstall(priorityYaml(a, b), { workers: 2 });
    const [w1, w2] = sys.workers as [SpawnedWorker, SpawnedWorker];

    // Before: a, first in priority, takes every lead.
    const warm = await Promise.all(Array.from({ length: 4 }, () => sys.post()));
    for (const id of warm) expect((await sys.final(id)).destination).toBe('a');

    const paused = await sys.admin('POST', '/v1/admin/destinations/a/pause');
    expect(paused).toEqual({ status: 200, body: { ok: true, id: 'a', overrides: { paused: true } } });
    const pausedAt = Date.now();
    // Measured: a lead every ~50 ms from the answer on, for 1.5 s. Within ~1 s every process
    // (pub/sub, or the 1 s poll) has the pause: no lead posted later than that may reach a.
    const window: Array<{ id: string; at: number }> = [];
    while (Date.now() - pausedAt < 1500) {
      const at = Date.now() - pausedAt;
      window.push({ id: await sys.post(), at });
      await sleep(50);
    }
    const windowFinals = await Promise.all(window.map(({ id }) => sys.final(id)));
    expect(windowFinals.every((l) => l.status === 'delivered')).toBe(true);
    const lastToA = Math.max(-1, ...window.filter((_, i) => windowFinals[i]?.destination === 'a').map((w) => w.at));
    expect(lastToA).toBeLessThan(1000);
    const before = { w1: { a: await w1.attempts('a'), b: await w1.attempts('b') }, w2: { a: await w2.attempts('a'), b: await w2.attempts('b') } };
    const aBefore = a.requests.length;
    const afterPause: string[] = [];
    // Leads one by one, until each worker has delivered some (at most 120): both processes were at work.
    for (let round = 0; round < 12; round++) {
      const batch: string[] = [];
      for (let i = 0; i < 10; i++) {
        batch.push(await sys.post());
        await sleep(20);
      }
      afterPause.push(...batch);
      await Promise.all(batch.map((id) => sys.final(id)));
      if ((await w1.attempts('b')) > before.w1.b && (await w2.attempts('b')) > before.w2.b) break;
    }
    const finals = await Promise.all(afterPause.map((id) => sys.final(id)));
    expect(finals.map((l) => [l.status, l.destination, triedBy(l)])).toEqual(finals.map(() => ['delivered', 'b', ['b']]));
    // a was never offered one of them (nor anything else since the pause), and both workers delivered to b.
    expect(a.requests.length).toBe(aBefore);
    const after = { w1: { a: await w1.attempts('a'), b: await w1.attempts('b') }, w2: { a: await w2.attempts('a'), b: await w2.attempts('b') } };
    expect(after.w1.a).toBe(before.w1.a);
    expect(after.w2.a).toBe(before.w2.a);
    expect(after.w1.b).toBeGreaterThan(before.w1.b);
    expect(after.w2.b).toBeGreaterThan(before.w2.b);
    expect(after.w1.b - before.w1.b + (after.w2.b - before.w2.b)).toBe(afterPause.length);

    // The admin view: the file says enabled, the operator paused it.
    expect(await sys.destination('a')).toMatchObject({ enabled: true, paused: true, state: 'paused', overrides: { paused: true }, queue: { waiting: 0, active: 0, delayed: 0 } });
    expect(await sys.destination('b')).toMatchObject({ enabled: true, paused: false, state: 'enabled', overrides: null });

    const resumed = await sys.admin('POST', '/v1/admin/destinations/a/resume');
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ ok: true, id: 'a' });
    expect((resumed.body.overrides as Record<string, unknown> | null)?.paused).toBeUndefined();
    await sleep(1500);
    const w1a = await w1.attempts('a');
    const w2a = await w2.attempts('a');
    const afterResume: string[] = [];
    for (let round = 0; round < 12; round++) {
      const batch: string[] = [];
      for (let i = 0; i < 10; i++) {
        batch.push(await sys.post());
        await sleep(20);
      }
      afterResume.push(...batch);
      await Promise.all(batch.map((id) => sys.final(id)));
      if ((await w1.attempts('a')) > w1a && (await w2.attempts('a')) > w2a) break;
    }
    const resumedFinals = await Promise.all(afterResume.map((id) => sys.final(id)));
    expect(resumedFinals.map((l) => [l.status, l.destination])).toEqual(resumedFinals.map(() => ['delivered', 'a']));
    expect(await w1.attempts('a')).toBeGreaterThan(w1a);
    expect(await w2.attempts('a')).toBeGreaterThan(w2a);
    expect(await sys.destination('a')).toMatchObject({ enabled: true, paused: false, state: 'enabled', overrides: null });
  }, 180_000);

  test('a cap override (daily: 1) takes effect in a worker process: one lead to a, the next to b; the admin view shows it; DELETE restores the file caps', async () => {
    const a = await buyer();
    const b = await buyer();
    // The file caps a at 100 a day and 50 an hour; the override replaces the daily one and drops the hourly one.
    const sys = await startInstall(priorityYaml(a, b, ', caps: { daily: 100, hourly: 50 }'), { workers: 1 });
    expect((await sys.destination('a')).caps).toEqual({ hourly: { limit: 50, used: 0, left: 50 }, daily: { limit: 100, used: 0, left: 100 }, total: null });

    const set = await sys.admin('PUT', '/v1/admin/destinations/a/caps', JSON.stringify({ daily: 1, hourly: null }));
    expect(set).toEqual({ status: 200, body: { ok: true, id: 'a', overrides: { caps: { daily: 1, hourly: null } } } });
    expect(await sys.destination('a')).toMatchObject({ overrides: { caps: { daily: 1, hourly: null } }, caps: { hourly: null, daily: { limit: 1, used: 0, left: 1 }, total: null } });
    await sleep(1500);

    const first = await sys.final(await sys.post());
    expect([first.status, first.destination]).toEqual(['delivered', 'a']);
    const second = await sys.final(await sys.post());
    expect([second.status, second.destination, triedBy(second)]).toEqual(['delivered', 'b', ['b']]);
    const capped = await sys.destination('a');
    expect(capped).toMatchObject({ state: 'enabled', paused: false, overrides: { caps: { daily: 1, hourly: null } } });
    expect(capped.caps).toEqual({ hourly: null, daily: { limit: 1, used: 1, left: 0 }, total: null });

    // A second PUT merges period by period: hourly back to a number, daily kept.
    const merged = await sys.admin('PUT', '/v1/admin/destinations/a/caps', JSON.stringify({ hourly: 7 }));
    expect(merged).toEqual({ status: 200, body: { ok: true, id: 'a', overrides: { caps: { daily: 1, hourly: 7 } } } });
    expect((await sys.destination('a')).caps).toEqual({ hourly: { limit: 7, used: 1, left: 6 }, daily: { limit: 1, used: 1, left: 0 }, total: null });

    const cleared = await sys.admin('DELETE', '/v1/admin/destinations/a/caps');
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ ok: true, id: 'a' });
    expect((cleared.body.overrides as Record<string, unknown> | null)?.caps).toBeUndefined();
    const restored = await sys.destination('a');
    expect(restored.overrides).toBeNull();
    expect(restored.caps).toEqual({ hourly: { limit: 50, used: 1, left: 49 }, daily: { limit: 100, used: 1, left: 99 }, total: null });
    await sleep(1500);
    const third = await sys.final(await sys.post());
    expect([third.status, third.destination]).toEqual(['delivered', 'a']);
  }, 120_000);

  test('a pause: the request in flight at the paused destination completes, a try still waiting for it moves on; an override whose message was missed is picked up by the 1 s poll', async () => {
    const a = await buyer(1500);
    const b = await buyer();
    const sys = await startInstall(priorityYaml(a, b).replace('concurrency: 20 }', 'concurrency: 1 }'), { workers: 1 });
    // L1 is at a (its buyer answers after 1.5 s); L2 waits for a's only slot.
    const l1 = await sys.post();
    await waitFor(() => (leadsAt(a).includes(l1) ? true : undefined), 20_000, 'the first lead at a');
    const l2 = await sys.post();
    await waitFor(async () => ((await sys.destination('a')).queue as { waiting: number }).waiting === 1 ? true : undefined, 20_000, 'the second lead waiting for a');
    expect((await sys.admin('POST', '/v1/admin/destinations/a/pause')).status).toBe(200);
    await sleep(1500);
    const l3 = await sys.post();
    const [f1, f2, f3] = await Promise.all([sys.final(l1), sys.final(l2), sys.final(l3)]);
    // The request in flight is not abandoned nor repeated elsewhere.
    expect([f1.status, f1.destination, triedBy(f1)]).toEqual(['delivered', 'a', ['a']]);
    // The one waiting for a's slot skips a once a is paused: sold once, to b.
    expect([f2.status, f2.destination, triedBy(f2)]).toEqual(['delivered', 'b', ['b']]);
    expect([...leadsAt(a), ...leadsAt(b)].filter((id) => id === l2)).toEqual([l2]);
    expect([f3.status, f3.destination, triedBy(f3)]).toEqual(['delivered', 'b', ['b']]);
    expect(leadsAt(a).filter((id) => id === l1)).toHaveLength(1);
    expect(leadsAt(b)).not.toContain(l1);
    expect((await sys.admin('POST', '/v1/admin/destinations/a/resume')).status).toBe(200);
    await sleep(1500);
    expect((await sys.final(await sys.post())).destination).toBe('a');

    // Written without its pub/sub message (as if it were lost while Redis reconnected): every
    // process still reads it within its 1 s poll.
    const redis = testRedisClient();
    open.push(() => redis.disconnect());
    const hash = redisKeys(sys.prefix).destinationOverrides();
    await redis.hset(hash, 'a', JSON.stringify({ paused: true }));
    await sleep(1500);
    expect(await sys.destination('a')).toMatchObject({ paused: true, state: 'paused' });
    const polled = await sys.final(await sys.post());
    expect([polled.status, polled.destination, triedBy(polled)]).toEqual(['delivered', 'b', ['b']]);
    await redis.hdel(hash, 'a');
    await sleep(1500);
    expect(await sys.destination('a')).toMatchObject({ paused: false, state: 'enabled', overrides: null });
    expect((await sys.final(await sys.post())).destination).toBe('a');
  }, 120_000);

  test('overrides survive restarts: a paused destination stays paused for a worker started afterwards (its very first lead) and for a restarted intake', async () => {
    const a = await buyer();
    const b = await buyer();
    const sys = await startInstall(priorityYaml(a, b), { workers: 1 });
    const warm = await sys.final(await sys.post());
    expect(warm.destination).toBe('a');
    expect((await sys.admin('POST', '/v1/admin/destinations/a/pause')).status).toBe(200);
    expect((await sys.admin('PUT', '/v1/admin/destinations/b/caps', JSON.stringify({ total: 1000 }))).status).toBe(200);

    // Every process goes: the worker (gracefully) and the intake.
    expect(await (sys.workers[0] as SpawnedWorker).role.stop('SIGTERM')).toBe(0);
    sys.workers.length = 0;
    await sys.intake.close();
    await sys.startIntake();
    expect(await sys.destination('a')).toMatchObject({ enabled: true, paused: true, state: 'paused', overrides: { paused: true } });
    expect(await sys.destination('b')).toMatchObject({ overrides: { caps: { total: 1000 } }, caps: { total: { limit: 1000, used: 0, left: 1000 } } });

    // Leads wait in the route queue while no worker runs; the new worker's first jobs already skip a.
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await sys.post());
    const aBefore = a.requests.length;
    await sys.spawnWorker();
    const finals = await Promise.all(ids.map((id) => sys.final(id)));
    expect(finals.map((l) => [l.status, l.destination, triedBy(l)])).toEqual(finals.map(() => ['delivered', 'b', ['b']]));
    const later = await sys.final(await sys.post());
    expect(later.destination).toBe('b');
    expect(a.requests.length).toBe(aBefore);
    expect((await sys.destination('b')).caps).toMatchObject({ total: { limit: 1000, used: 11, left: 989 } });
  }, 120_000);

  test('audit events reach the ledger: pause, caps and resume, newest first, by target; and reloads, taken and refused', async () => {
    const db = await freshDatabase();
    open.push(() => db.drop());
    const a = await buyer();
    const b = await buyer();
    const yaml = priorityYaml(a, b);
    const sys = await startInstall(yaml, { databaseUrl: db.url, ledgerWriter: true });

    const t0 = Date.now();
    expect((await sys.admin('POST', '/v1/admin/destinations/a/pause')).status).toBe(200);
    await sleep(5);
    expect((await sys.admin('PUT', '/v1/admin/destinations/a/caps', JSON.stringify({ daily: 5 }))).status).toBe(200);
    await sleep(5);
    expect((await sys.admin('POST', '/v1/admin/destinations/a/resume')).status).toBe(200);
    await sleep(5);
    expect((await sys.admin('POST', '/v1/admin/destinations/b/pause')).status).toBe(200);

    type Audit = { at: string; action: string; target: string | null; details: Record<string, unknown> };
    const audit = async (query: string): Promise<Audit[]> => {
      const answer = await sys.admin('GET', `/v1/admin/audit${query}`);
      expect(answer.status).toBe(200);
      return answer.body.events as Audit[];
    };
    const all = await waitFor(async () => {
      const events = await audit('');
      return events.length >= 4 ? events : undefined;
    }, 20_000, 'four audit events in the ledger');
    expect(all.map((e) => [e.action, e.target])).toEqual([
      ['destination.pause', 'b'],
      ['destination.resume', 'a'],
      ['destination.caps', 'a'],
      ['destination.pause', 'a'],
    ]);
    // Newest first, at the times of the changes.
    const times = all.map((e) => Date.parse(e.at));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(t0 - 1000);
      expect(t).toBeLessThanOrEqual(Date.now() + 1000);
    }
    // The details say what the override became.
    expect(all[2]?.details).toMatchObject({ override: { paused: true, caps: { daily: 5 } } });
    expect(all[1]?.details).toMatchObject({ override: { caps: { daily: 5 } } });
    expect((all[1]?.details.override as Record<string, unknown>).paused).toBeUndefined();

    const onA = await audit('?target=a');
    expect(onA.map((e) => e.action)).toEqual(['destination.resume', 'destination.caps', 'destination.pause']);
    expect((await audit('?target=a&limit=2')).map((e) => e.action)).toEqual(['destination.resume', 'destination.caps']);
    expect(await audit('?target=nobody')).toEqual([]);
    for (const limit of ['0', '-1', '1.5', 'abc', '1001']) {
      const answer = await sys.admin('GET', `/v1/admin/audit?limit=${limit}`);
      expect({ limit, status: answer.status, field: (answer.body.errors as Array<{ field: string }> | undefined)?.[0]?.field }).toEqual({ limit, status: 400, field: 'limit' });
    }
    expect((await sys.admin('GET', '/v1/admin/audit', undefined, { 'x-api-key': 'wrong' })).status).toBe(401);

    // A cap clear, then reloads: one taken (through the API), one refused (SIGHUP on an invalid file).
    expect((await sys.admin('DELETE', '/v1/admin/destinations/a/caps')).status).toBe(200);
    const reload = await sys.admin('POST', '/v1/admin/config/reload');
    expect(reload).toMatchObject({ status: 200, body: { ok: true, hash: hashOf(yaml), previousHash: hashOf(yaml) } });
    writeFileSync(sys.configFile, `${yaml}\n  - { id: broken }\n`);
    sys.intake.reload();
    const latest = await waitFor(async () => {
      const events = await audit('?limit=3');
      return events[0]?.action === 'config.reload.refused' ? events : undefined;
    }, 20_000, 'the reload events in the ledger');
    expect(latest.map((e) => [e.action, e.target])).toEqual([
      ['config.reload.refused', sys.configFile],
      ['config.reload', sys.configFile],
      ['destination.caps.clear', 'a'],
    ]);
    expect(latest[1]?.details).toMatchObject({ trigger: 'api', ok: true, hash: hashOf(yaml), changed: false });
    expect(latest[0]?.details).toMatchObject({ trigger: 'SIGHUP', ok: false, hash: hashOf(yaml) });
    expect(String(latest[0]?.details.process)).toMatch(/^intake@/);
  }, 120_000);

  test('config reload: a new destination gets its queue and worker without a restart, every process shows the new hash; an invalid file is refused with every problem and changes nothing', async () => {
    const a = await buyer();
    const b = await buyer();
    const c = await buyer();
    const yaml1 = priorityYaml(a, b);
    const sys = await startInstall(yaml1, { workers: 1 });
    const worker = sys.workers[0] as SpawnedWorker;
    expect(await sys.intakeHash()).toBe(hashOf(yaml1));
    expect(await worker.configHash()).toBe(hashOf(yaml1));
    expect((await sys.final(await sys.post())).destination).toBe('a');

    // A second supplier too (its key works once the intake has reloaded), and destination c.
    const yaml2 = systemYaml(`
  - id: beta
    apiKeys: ["${BETA}"]
destinations:
  - { id: a, url: "${a.url}/", timeoutMs: 10000, concurrency: 20 }
  - { id: b, url: "${b.url}/", timeoutMs: 10000, concurrency: 20 }
  - { id: c, url: "${c.url}/", timeoutMs: 10000, concurrency: 5 }
routes:
  - id: main
    strategy: priority
    destinations: [{ id: c }, { id: a }, { id: b }]
`);
    expect((await sys.postAs(BETA)).status).toBe(401);
    writeFileSync(sys.configFile, yaml2);
    const reloaded = await sys.admin('POST', '/v1/admin/config/reload');
    // Heard by the intake's and the worker's control channel subscriptions.
    expect(reloaded).toEqual({ status: 200, body: { ok: true, hash: hashOf(yaml2), previousHash: hashOf(yaml1), processes: 2 } });
    await waitFor(async () => ((await sys.intakeHash()) === hashOf(yaml2) && (await worker.configHash()) === hashOf(yaml2) ? true : undefined), 5_000, 'the new hash on both /metrics');
    const viaC = await sys.final(await sys.post());
    expect([viaC.status, viaC.destination, triedBy(viaC)]).toEqual(['delivered', 'c', ['c']]);
    expect(leadsAt(c)).toEqual([viaC.id]);
    const beta = await sys.postAs(BETA);
    expect(beta.status).toBe(202);
    const fromBeta = await sys.final(beta.id as string);
    expect([fromBeta.status, fromBeta.destination]).toEqual(['delivered', 'c']);
    expect(await sys.destination('c')).toMatchObject({ enabled: true, paused: false, state: 'enabled', overrides: null, queue: { waiting: 0, active: 0, delayed: 0 } });
    // Live operations know the new destination too.
    expect((await sys.admin('POST', '/v1/admin/destinations/c/pause')).status).toBe(200);
    await sleep(1500);
    expect((await sys.final(await sys.post())).destination).toBe('a');
    expect((await sys.admin('POST', '/v1/admin/destinations/c/resume')).status).toBe(200);
    await sleep(1500);

    // Invalid: c's url is not http(s), and the route names a destination nobody has.
    const invalid = yaml2.replace(`url: "${c.url}/"`, 'url: "ftp://127.0.0.1/leads"').replace('[{ id: c }, { id: a }, { id: b }]', '[{ id: c }, { id: a }, { id: ghost }]');
    expect(invalid).not.toBe(yaml2);
    writeFileSync(sys.configFile, invalid);
    const refused = await sys.admin('POST', '/v1/admin/config/reload');
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ ok: false, reason: 'invalid_config' });
    const errors = refused.body.errors as Array<{ field: string; message: string; line?: number; text: string }>;
    expect(errors).toHaveLength(2);
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'destinations[2].url', line: expect.any(Number), text: expect.stringContaining('destinations[2].url') }),
        expect.objectContaining({ field: 'routes[0].destinations[2].id', message: expect.stringContaining('ghost'), line: expect.any(Number) }),
      ]),
    );
    // Nothing changed anywhere: same hash, c still takes the leads.
    await sleep(1500);
    expect(await sys.intakeHash()).toBe(hashOf(yaml2));
    expect(await worker.configHash()).toBe(hashOf(yaml2));
    const still = await sys.final(await sys.post());
    expect([still.status, still.destination]).toEqual(['delivered', 'c']);

    // Neither is a file that is not YAML, nor one that is gone.
    writeFileSync(sys.configFile, `${yaml2}\n  - { id: x\n`);
    const syntax = await sys.admin('POST', '/v1/admin/config/reload');
    expect(syntax).toMatchObject({ status: 400, body: { ok: false, reason: 'invalid_config', hash: hashOf(yaml2) } });
    expect((syntax.body.errors as unknown[]).length).toBeGreaterThan(0);
    rmSync(sys.configFile);
    const gone = await sys.admin('POST', '/v1/admin/config/reload');
    expect(gone).toMatchObject({ status: 400, body: { ok: false, reason: 'invalid_config', errors: [expect.objectContaining({ message: expect.stringContaining('cannot read') })] } });
    await sleep(1500);
    expect(await sys.intakeHash()).toBe(hashOf(yaml2));
    expect(await worker.configHash()).toBe(hashOf(yaml2));
    expect((await sys.final(await sys.post())).destination).toBe('c');
    expect(worker.role.child.exitCode).toBeNull();
  }, 120_000);

  test('SIGHUP re-reads the config file of that one process: the worker shows the new hash, the intake keeps its own; an invalid file is refused and the worker lives on', async () => {
    const a = await buyer();
    const b = await buyer();
    const yaml1 = priorityYaml(a, b);
    const sys = await startInstall(yaml1, { workers: 1 });
    const worker = sys.workers[0] as SpawnedWorker;
    expect(await worker.configHash()).toBe(hashOf(yaml1));

    // The new file sends every lead to b first.
    const yaml2 = yaml1.replace('[{ id: a }, { id: b }]', '[{ id: b }, { id: a }]');
    expect(yaml2).not.toBe(yaml1);
    writeFileSync(sys.configFile, yaml2);
    worker.role.child.kill('SIGHUP');
    await waitFor(async () => ((await worker.configHash()) === hashOf(yaml2) ? true : undefined), 5_000, "the worker's new hash");
    expect(await sys.intakeHash()).toBe(hashOf(yaml1));
    // The worker routes on its new file.
    const lead = await sys.final(await sys.post());
    expect([lead.status, lead.destination]).toEqual(['delivered', 'b']);

    // SIGHUP with an invalid file: refused, the worker keeps running on its config.
    writeFileSync(sys.configFile, `${yaml2}\n  - { id: broken }\n`);
    worker.role.child.kill('SIGHUP');
    await sleep(1500);
    expect(worker.role.child.exitCode).toBeNull();
    expect(await worker.configHash()).toBe(hashOf(yaml2));
    expect(await sys.intakeHash()).toBe(hashOf(yaml1));
    const after = await sys.final(await sys.post());
    expect([after.status, after.destination]).toEqual(['delivered', 'b']);
  }, 120_000);

  test('every process of the install shows its config hash on /metrics and takes a reload: intake, worker, postback service and ledger writer', async () => {
    const db = await freshDatabase();
    open.push(() => db.drop());
    const a = await buyer();
    const b = await buyer();
    const yaml1 = priorityYaml(a, b);
    const sys = await startInstall(yaml1, { databaseUrl: db.url, workers: 1 });
    const others = { postback: await sys.spawn('postback'), ledger: await sys.spawn('ledger') };
    const hashes = async (): Promise<Record<string, string | undefined>> => ({
      intake: await sys.intakeHash(),
      worker: await (sys.workers[0] as SpawnedWorker).configHash(),
      postback: await others.postback.configHash(),
      ledger: await others.ledger.configHash(),
    });
    const all = (hash: string) => ({ intake: hash, worker: hash, postback: hash, ledger: hash });
    const atStart = await hashes();

    const yaml2 = `${yaml1}\n# reloaded\n`;
    expect((await sys.postAs(BETA)).status).toBe(401);
    writeFileSync(sys.configFile, yaml2);
    const reloaded = await sys.admin('POST', '/v1/admin/config/reload');
    const afterReload = await waitFor(async () => {
      const now = await hashes();
      return Object.values(now).every((h) => h === hashOf(yaml2)) ? now : undefined;
    }, 5_000, 'the new hash on every /metrics').catch(async () => hashes());
    // All at once, so that a failure shows the whole picture. Every process of the install listens
    // to the reload (processes: intake, worker, postback, ledger) and shows the hash of its file.
    expect({ atStart, reload: reloaded, afterReload }).toEqual({
      atStart: all(hashOf(yaml1)),
      reload: { status: 200, body: { ok: true, hash: hashOf(yaml2), previousHash: hashOf(yaml1), processes: 4 } },
      afterReload: all(hashOf(yaml2)),
    });
  }, 120_000);

  describe('hostile input', () => {
    const NO_KEY = '\u0000no key';
    /** A request through node:http, so the path goes exactly as written (fetch would normalize `..` and `%2e`). */
    const raw = (base: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> =>
      new Promise((resolve, reject) => {
        const { hostname, port } = new URL(base);
        const all: Record<string, string | number> = { 'x-api-key': ADMIN, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }), ...headers };
        if (all['x-api-key'] === NO_KEY) delete all['x-api-key'];
        const req = request({ hostname, port, path, method, agent: false, headers: all }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Record<string, unknown>;
            try {
              parsed = JSON.parse(text) as Record<string, unknown>;
            } catch {
              parsed = { nonJson: text.slice(0, 200) };
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });

    test('bad cap bodies are refused with 400 naming the field; no key 401; unknown or odd destination ids 404; nothing is stored', async () => {
      const a = await buyer();
      const b = await buyer();
      const sys = await startInstall(priorityYaml(a, b, ', caps: { daily: 100 }'));
      const caps = (body: string, headers?: Record<string, string>) => raw(sys.base, 'PUT', '/v1/admin/destinations/a/caps', body, headers);
      const fieldOf = (answer: Answer): unknown => (answer.body.errors as Array<{ field: string }> | undefined)?.map((e) => e.field);

      const cases: Array<[string, string, string[]]> = [
        ['a string', '{"daily": "5"}', ['daily']],
        ['a numeric string', '{"hourly": "10"}', ['hourly']],
        ['negative', '{"daily": -1}', ['daily']],
        ['a float', '{"daily": 1.5}', ['daily']],
        ['huge', '{"total": 1e12}', ['total']],
        ['just over the maximum', '{"total": 1000000001}', ['total']],
        ['beyond doubles', '{"daily": 1e400}', ['daily']],
        ['unsafe integer', '{"daily": 9007199254740993}', ['daily']],
        ['a boolean', '{"daily": true}', ['daily']],
        ['an object', '{"daily": {"limit": 5}}', ['daily']],
        ['an array value', '{"daily": [5]}', ['daily']],
        ['an unknown field', '{"weekly": 5}', ['weekly']],
        ['an unknown field beside a good one', '{"daily": 5, "monthly": 9}', ['monthly']],
        ['__proto__', '{"__proto__": {"daily": 1}}', ['__proto__']],
        ['two bad fields', '{"daily": -5, "hourly": "x"}', ['daily', 'hourly']],
        ['an array body', '[{"daily": 5}]', ['body']],
        ['a number body', '5', ['body']],
        ['a string body', '"daily"', ['body']],
        ['null', 'null', ['body']],
        ['empty object', '{}', ['body']],
        ['not JSON', '{daily: 5', ['body']],
        ['truncated JSON', '{"daily": ', ['body']],
        ['empty body', '', ['body']],
      ];
      for (const [what, body, fields] of cases) {
        const answer = await caps(body);
        expect({ what, status: answer.status, ok: answer.body.ok, fields: fieldOf(answer) }).toEqual({ what, status: 400, ok: false, fields });
      }
      // A very long unknown field name is not echoed whole.
      const long = await caps(JSON.stringify({ [`x${'y'.repeat(3000)}`]: 1 }));
      expect(long.status).toBe(400);
      expect(String(fieldOf(long))).toHaveLength(64);
      // Not JSON at all, as text: no body parsed.
      expect(fieldOf(await caps('daily=5', { 'content-type': 'text/plain' }))).toEqual(['body']);
      // Over the body limit.
      expect((await caps(JSON.stringify({ daily: 1, pad: 'x'.repeat(10_000) }))).status).toBe(413);

      // Nothing above was stored: no override, the file's cap.
      const view = await sys.destination('a');
      expect(view).toMatchObject({ overrides: null, paused: false, caps: { daily: { limit: 100, used: 0, left: 100 } } });

      // Boundaries that are fine.
      expect(await caps('{"daily": 0}')).toEqual({ status: 200, body: { ok: true, id: 'a', overrides: { caps: { daily: 0 } } } });
      expect(await caps('{"total": 1000000000}')).toEqual({ status: 200, body: { ok: true, id: 'a', overrides: { caps: { daily: 0, total: 1000000000 } } } });
      expect((await raw(sys.base, 'DELETE', '/v1/admin/destinations/a/caps')).status).toBe(200);

      // The admin key.
      for (const [method, path, body] of [
        ['POST', '/v1/admin/destinations/a/pause', undefined],
        ['POST', '/v1/admin/destinations/a/resume', undefined],
        ['PUT', '/v1/admin/destinations/a/caps', '{"daily": 1}'],
        ['DELETE', '/v1/admin/destinations/a/caps', undefined],
        ['POST', '/v1/admin/config/reload', undefined],
        ['GET', '/v1/admin/audit', undefined],
        ['GET', '/v1/admin/destinations', undefined],
      ] as const) {
        for (const key of [undefined, KEY, 'wrong', '']) {
          const answer = await raw(sys.base, method, path, body, key === undefined ? { 'x-api-key': NO_KEY } : { 'x-api-key': key });
          expect({ method, path, key, status: answer.status }).toEqual({ method, path, key, status: 401 });
        }
      }
      // A bad body without the key is still 401 (the key is checked first).
      expect((await raw(sys.base, 'PUT', '/v1/admin/destinations/a/caps', '{nope', { 'x-api-key': 'wrong' })).status).toBe(401);

      // Unknown destinations, and ids no destination can have.
      const odd = ['nobody', 'A', 'a%20', '%20a', 'a%2Fb', '..%2Fa', '%2e%2e', 'a%00', '%00', '%C3%A9', '%F0%9F%92%A5', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '%3Cscript%3E', "a'%3B--", 'x'.repeat(2000), 'a.b', 'a;b', '-a', 'a%0D%0AX-Injected:1'];
      for (const id of odd) {
        for (const [method, suffix, body] of [
          ['POST', 'pause', undefined],
          ['POST', 'resume', undefined],
          ['PUT', 'caps', '{"daily": 1}'],
          ['DELETE', 'caps', undefined],
        ] as const) {
          const answer = await raw(sys.base, method, `/v1/admin/destinations/${id}/${suffix}`, body);
          expect({ id: id.slice(0, 40), method, suffix, status: answer.status }).toEqual({ id: id.slice(0, 40), method, suffix, status: 404 });
        }
      }
      // Malformed percent-encoding: the client's error (400), never a 500.
      for (const id of ['%', '%zz', '%E0%A4%A', '%C0%AF']) {
        const answer = await raw(sys.base, 'POST', `/v1/admin/destinations/${id}/pause`);
        expect({ id, ok: [400, 404].includes(answer.status) }).toEqual({ id, ok: true });
      }
      // None of it left an override behind, on a or anywhere.
      const all = await raw(sys.base, 'GET', '/v1/admin/destinations');
      expect((all.body.destinations as Array<Record<string, unknown>>).map((d) => [d.id, d.overrides, d.state])).toEqual([
        ['a', null, 'enabled'],
        ['b', null, 'enabled'],
      ]);
      // No ledger in this install: the audit answers 503.
      expect((await raw(sys.base, 'GET', '/v1/admin/audit')).status).toBe(503);
      // A reload of an unchanged file: fine, nothing changes.
      const reload = await raw(sys.base, 'POST', '/v1/admin/config/reload');
      expect(reload.status).toBe(200);
      expect(reload.body.hash).toBe(reload.body.previousHash);
    }, 120_000);
  });
});
