import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { freePort } from '@leadrouter/redis';
import { spawnRole, startTestServer, testRedisUrl, uniquePrefix, waitFor, type TestServer } from '@leadrouter/testing';
import { DASHBOARDS } from '../../../deploy/grafana/dashboards.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const KEY = 'obs-key-1';
const ADMIN = 'obs-admin-1';
const TOKEN = 'obs-pb-token';

/** The metric names of contract §7, and the ledger's of §10 (histograms add _bucket, _count and _sum). */
const CONTRACT_METRICS = [
  'leadrouter_leads_received_total', 'leadrouter_leads_rejected_total', 'leadrouter_leads_sold_total',
  'leadrouter_leads_unsold_total', 'leadrouter_delivery_attempts_total', 'leadrouter_delivery_duration_seconds',
  'leadrouter_lead_time_to_sale_seconds', 'leadrouter_postbacks_total', 'leadrouter_revenue_total',
  'leadrouter_revenue_returned_total', 'leadrouter_queue_jobs', 'leadrouter_destination_circuit_open',
  'leadrouter_destination_cap_used', 'leadrouter_http_request_duration_seconds',
  'leadrouter_ledger_lag_seconds', 'leadrouter_ledger_writes_total',
];

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}

function panelQueries(): Array<{ dashboard: string; panel: string; expr: string }> {
  const out = [];
  for (const file of Object.keys(DASHBOARDS)) {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards', file), 'utf8')) as { panels: Panel[] };
    for (const panel of dashboard.panels) for (const t of panel.targets ?? []) out.push({ dashboard: file, panel: panel.title, expr: t.expr });
  }
  return out;
}

function ruleQueries(): Array<{ alert: string; expr: string }> {
  const rules = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/rules.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert, expr: r.expr })));
}

/** Grafana's variables, as Grafana would fill them for the test's traffic. */
function concrete(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$destination', 'good');
}

describe('observability against a real Prometheus', () => {
  const cleanup: Array<() => unknown> = [];
  let intake = '';
  let postbackBase = '';
  let prometheus = '';

  beforeAll(async () => {
    const good: TestServer = await startTestServer((_req, res) => res.writeHead(200).end('{}'));
    const picky: TestServer = await startTestServer((_req, res) => res.writeHead(400).end('{}'));
    cleanup.push(() => good.close(), () => picky.close());
    const dir = mkdtempSync(join(tmpdir(), 'lr-obs-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, 'leadrouter.yaml'),
      `
suppliers:
  - { id: acme, apiKeys: ["${KEY}"], rateLimit: { perSecond: 1000 } }
destinations:
  - { id: good, url: "${good.url}/", payout: 10, caps: { hourly: 500, daily: 1000 }, postback: { token: "${TOKEN}" } }
  - { id: picky, url: "${picky.url}/", payout: 20 }
routes:
  - { id: main, match: { source: [Facebook] }, destinations: [{ id: picky }, { id: good }] }
  - { id: picky-only, match: { source: [Google] }, destinations: [{ id: picky }] }
`,
    );
    const [intakePort, postbackPort, workerPort, promPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const aio = spawnRole('all-in-one', {
      REDIS_URL: testRedisUrl(),
      LEADROUTER_PREFIX: uniquePrefix(),
      LEADROUTER_CONFIG: join(dir, 'leadrouter.yaml'),
      ADMIN_API_KEY: ADMIN,
      HOST: '127.0.0.1',
      INTAKE_PORT: String(intakePort),
      POSTBACK_PORT: String(postbackPort),
      WORKER_PORT: String(workerPort),
      LOG_LEVEL: 'warn',
    });
    cleanup.push(() => aio.stop());
    intake = `http://127.0.0.1:${intakePort}`;
    postbackBase = `http://127.0.0.1:${postbackPort}`;
    await waitFor(async () => ((await fetch(`${intake}/readyz`).catch(() => undefined))?.ok ? true : undefined), 30_000, 'LeadRouter ready');

    writeFileSync(
      join(dir, 'prometheus.yml'),
      `
global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: ["${join(ROOT, 'deploy/prometheus/rules.yml')}"]
# The all-in-one is one process with one registry: scraping one of its ports sees every role.
scrape_configs:
  - { job_name: leadrouter-all-in-one, static_configs: [{ targets: ["127.0.0.1:${intakePort}"] }] }
`,
    );
    const prom: ChildProcess = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      { stdio: 'ignore' },
    );
    cleanup.push(() => prom.kill('SIGKILL'));
    prometheus = `http://127.0.0.1:${promPort}`;
    await waitFor(async () => ((await fetch(`${prometheus}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 30_000, 'Prometheus ready');

    // Traffic of every kind: sold (after a rejection), unsold, refused at intake, postbacks.
    const post = async (body: unknown, key = KEY): Promise<{ status: number; id?: string }> => {
      const res = await fetch(`${intake}/v1/leads?wait=10`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
      const json = (await res.json()) as { id?: string };
      return { status: res.status, ...(json.id ? { id: json.id } : {}) };
    };
    const sold: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await post({ name: 'Obs Lead', phone: `+1415555${String(2000 + i)}`, geo: 'US', source: 'Facebook' });
      if (res.id) sold.push(res.id);
    }
    for (let i = 0; i < 5; i++) await post({ name: 'Obs Lead', phone: `+1415555${String(3000 + i)}`, geo: 'US', source: 'Google' });
    await post({ name: 'Obs Lead', phone: '+14155552000', geo: 'US', source: 'Facebook' });
    await post({ name: '', phone: '12', geo: 'US', source: 'Facebook' });
    await post({ name: 'Obs Lead', phone: '+14155554000', geo: 'US', source: 'Facebook' }, 'wrong-key');
    for (const [i, id] of sold.slice(0, 6).entries()) {
      const status = ['accepted', 'converted', 'rejected'][i % 3] as string;
      await fetch(`${postbackBase}/v1/postbacks/good?lead_id=${id}&status=${status}&token=${TOKEN}${i === 0 ? '&payout=12' : ''}`);
    }
    await fetch(`${postbackBase}/v1/postbacks/good?lead_id=${sold[1]}&status=returned&token=${TOKEN}`);
    expect(sold).toHaveLength(20);
  }, 120_000);

  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  async function query(expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
    const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  }

  test('every dashboard panel query runs and returns series on a system with traffic', async () => {
    // Wait until the traffic is scraped and rate windows hold several samples after it.
    await waitFor(async () => {
      const r = await query('sum(leadrouter_leads_sold_total)');
      return Number((r.data?.result[0] as { value?: [number, string] } | undefined)?.value?.[1] ?? 0) >= 20 ? true : undefined;
    }, 60_000, 'sold leads in Prometheus');
    await new Promise((r) => setTimeout(r, 5000));
    const failures: string[] = [];
    const queries = panelQueries();
    expect(queries.length).toBeGreaterThan(20);
    for (const q of queries) {
      const r = await query(concrete(q.expr));
      if (r.status !== 'success') failures.push(`${q.dashboard} / ${q.panel}: error ${r.error}`);
      else if ((r.data?.result.length ?? 0) === 0) failures.push(`${q.dashboard} / ${q.panel}: no series for ${q.expr}`);
    }
    expect(failures).toEqual([]);
  });

  test('every alert rule expression evaluates without error, and the rules are loaded', async () => {
    const failures: string[] = [];
    for (const rule of ruleQueries()) {
      const r = await query(rule.expr);
      if (r.status !== 'success') failures.push(`${rule.alert}: ${r.error}`);
    }
    expect(failures).toEqual([]);
    const loaded = (await (await fetch(`${prometheus}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> } };
    const rules = loaded.data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual(ruleQueries().map((r) => r.alert).sort());
    await waitFor(async () => {
      const again = (await (await fetch(`${prometheus}/api/v1/rules`)).json()) as typeof loaded;
      const all = again.data.groups.flatMap((g) => g.rules);
      return all.every((r) => r.health === 'ok') ? true : undefined;
    }, 20_000, 'every rule evaluated healthy');
  });

  test('promtool accepts the rules and the compose Prometheus config', () => {
    for (const args of [['check', 'rules', 'deploy/prometheus/rules.yml'], ['check', 'config', '--syntax-only', 'deploy/prometheus/prometheus.yml']]) {
      const run = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8' });
      expect({ args, status: run.status, out: run.status === 0 ? '' : run.stdout + run.stderr }).toEqual({ args, status: 0, out: '' });
    }
  });

  test('the dashboards use only the metric names of the contract, and the JSON matches deploy/grafana/dashboards.ts', () => {
    for (const q of panelQueries()) {
      const names = q.expr.match(/leadrouter_[a-z_]+/g) ?? [];
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect(CONTRACT_METRICS).toContain(name.replace(/_(bucket|count|sum)$/, ''));
    }
    for (const [file, dashboard] of Object.entries(DASHBOARDS)) {
      expect(JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards', file), 'utf8'))).toEqual(dashboard);
    }
  });

  test('admin endpoints: refused without the admin key; destinations show caps, circuit, schedule and today', async () => {
    expect((await fetch(`${intake}/v1/admin/destinations`)).status).toBe(401);
    expect((await fetch(`${intake}/v1/admin/destinations`, { headers: { 'x-api-key': KEY } })).status).toBe(401);
    expect((await fetch(`${intake}/admin/queues`)).status).toBe(401);
    const res = await fetch(`${intake}/v1/admin/destinations`, { headers: { 'x-api-key': ADMIN } });
    expect(res.status).toBe(200);
    const { destinations } = (await res.json()) as { destinations: Array<Record<string, unknown>> };
    const good = destinations.find((d) => d.id === 'good');
    const picky = destinations.find((d) => d.id === 'picky');
    expect(good).toMatchObject({ enabled: true, caps: { hourly: { limit: 500, used: 20 }, daily: { limit: 1000, used: 20 }, total: null }, circuit: { state: 'closed' }, schedule: { open: true }, today: { sold: 20, rejected: 0 } });
    expect(picky).toMatchObject({ today: { sold: 0, rejected: 25 } });
    const board = await fetch(`${intake}/admin/queues`, { headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` } });
    expect(board.status).toBe(200);
    expect(await board.text()).toContain('<');
  });
});
