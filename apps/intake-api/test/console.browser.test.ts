import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startLedger, type LedgerHandle } from '@leadrouter/app-ledger';
import { freePort } from '@leadrouter/redis';
import { freshDatabase, launchChromium, REPO_ROOT, spawnRole, startTestServer, waitFor, type FreshDatabase, type RecordedRequest, type RoleProcess, type TestServer } from '@leadrouter/testing';
import { ADMIN, startSystem, systemYaml, uniquePhone, type TestSystem } from '@leadrouter/testing/system';

/**
 * The operator console (contract §11) in a real browser: Debian's Chromium driven by
 * playwright-core, against the intake of a whole system (two worker processes of their own, the
 * ledger on the suite's private PostgreSQL). Controls are found by their accessible names, as an
 * operator with a screen reader would find them.
 *
 * Screenshots of the overview and of a lead's timeline are taken on every run; with
 * LR_UPDATE_SCREENSHOTS=1 they are written to docs/screenshots (the README shows them).
 */
const SCREENSHOTS = process.env.LR_UPDATE_SCREENSHOTS === '1' ? join(REPO_ROOT, 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'lr-console-shots-'));

/**
 * The page's globals, as the functions passed to page.evaluate see them: typed here because the
 * project compiles for Node (no DOM library), and those functions run in the browser.
 */
interface PageGlobals {
  document: { cookie: string; documentElement: { scrollWidth: number }; querySelector(selector: string): { width: number } | null };
  Chart: { getChart(canvas: unknown): { data: { labels: string[]; datasets: Array<{ label: string; data: number[] }> } } | undefined };
}

const yaml = (a: string, b: string): string =>
  systemYaml(`
destinations:
  - { id: a, url: "${a}/", payout: 12.5, timeoutMs: 10000, concurrency: 5 }
  - { id: b, url: "${b}/", payout: 7.25, timeoutMs: 10000, concurrency: 5 }
routes:
  - id: facebook
    match: { source: [Facebook] }
    strategy: priority
    destinations: [{ id: a }, { id: b }]
`);

/** A buyer that accepts after a moment (so deliveries overlap and both worker processes take some). */
const buyer = (delayMs: number) => (_req: RecordedRequest, res: ServerResponse): void => {
  setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"success"}'), delayMs);
};

describe('the operator console in Chromium', () => {
  let db: FreshDatabase;
  let sys: TestSystem;
  let ledger: LedgerHandle;
  let buyerA: TestServer;
  let buyerB: TestServer;
  let dir: string;
  const workers: Array<{ role: RoleProcess; port: number }> = [];
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  /** Every URL the console page asked for, over the whole suite (contract §11: it loads nothing from the internet). */
  const requested: string[] = [];

  const api = async <T = Record<string, unknown>>(path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${base}${path}`, { ...init, headers: { 'x-api-key': ADMIN, ...(init.headers ?? {}) } });
    expect(res.status).toBeLessThan(300);
    return (await res.json()) as T;
  };
  /** Posts a lead and waits for it to end (delivered or unsold); returns it. */
  const sell = async (lead: Record<string, unknown> = {}) => {
    const res = await sys.post({ name: 'Console Test', phone: uniquePhone(), geo: 'US', source: 'Facebook', ...lead });
    expect(res.status).toBe(202);
    return sys.final(res.body.id as string, 30_000);
  };
  /** What a worker process has counted of its tries at one destination. */
  const triesAt = async (port: number, destination: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`leadrouter_delivery_attempts_total{destination="${destination}",outcome="accepted"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const signIn = async (): Promise<void> => {
    await page.goto(`${base}/console/`);
    await page.getByLabel('Admin key').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Console' }).waitFor();
  };
  const tab = async (name: string): Promise<void> => {
    // Each test may run alone (jest -t): sign in when this browser has no session yet.
    if ((await context.cookies()).length === 0) await signIn();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name }).click();
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    db = await freshDatabase();
    buyerA = await startTestServer(buyer(50));
    buyerB = await startTestServer(buyer(150));
    dir = mkdtempSync(join(tmpdir(), 'lr-console-'));
    const configFile = join(dir, 'leadrouter.yaml');
    writeFileSync(configFile, yaml(buyerA.url, buyerB.url));
    // No worker in this process: two worker processes of their own, as in production.
    sys = await startSystem(yaml(buyerA.url, buyerB.url), { workers: 0, env: { ledger: true, databaseUrl: db.url } });
    ledger = await startLedger({ env: sys.env, logger: sys.logs.logger, port: 0 });
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const role = spawnRole('worker', {
        REDIS_URL: sys.env.redisUrl,
        LEADROUTER_PREFIX: sys.env.prefix,
        LEADROUTER_CONFIG: configFile,
        DATABASE_URL: db.url,
        WORKER_PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      });
      workers.push({ role, port });
    }
    for (const w of workers) await waitFor(async () => (await fetch(`http://127.0.0.1:${w.port}/readyz`).catch(() => undefined))?.ok || undefined, 60_000, 'worker process ready');
    base = `http://127.0.0.1:${sys.intake.port}`;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('request', (request) => requested.push(request.url()));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    for (const w of workers) await w.role.stop('SIGTERM');
    await ledger?.close();
    await sys?.close();
    await buyerA?.close();
    await buyerB?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('a wrong key is refused; the admin key signs in with an HttpOnly, SameSite=Strict session cookie', async () => {
    await page.goto(`${base}/console/`);
    await page.getByLabel('Admin key').fill('not-the-admin-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toBe('That is not the admin key.');
    expect(await context.cookies()).toEqual([]);

    await signIn();
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'lr_console', httpOnly: true, sameSite: 'Strict', path: '/' });
    // The page's own script cannot read it.
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.cookie)).toBe('');
  }, 60_000);

  test('the overview shows the same figures as the API, by supplier and by destination, and each destination’s live state', async () => {
    for (let i = 0; i < 4; i++) await sell();
    // Routed nowhere: unsold.
    await sell({ source: 'Nowhere' });
    type Period = { total: { received: number }; bySupplier: Array<{ supplier: string; received: number; sold: number; unsold: number; netRevenue: number }>; byDestination: Array<{ destination: string; sold: number; netRevenue: number }> };
    const overview = await waitFor(async () => {
      const body = await api<{ today: Period; lastHour: Period }>('/v1/admin/overview');
      const acme = body.today.bySupplier[0];
      return acme && acme.sold + acme.unsold === 5 ? body : undefined;
    }, 30_000, 'the ledger to hold the five leads, ended');
    expect(overview.today.bySupplier).toEqual([{ supplier: 'acme', received: 5, sold: 4, unsold: 1, netRevenue: 50 }]);
    expect(overview.today.byDestination).toEqual([{ destination: 'a', sold: 4, netRevenue: 50 }]);

    await tab('Overview');
    const row = (table: string, first: string) => page.getByRole('table', { name: table }).getByRole('row', { name: new RegExp(`^${first}\\b`) });
    const cells = async (table: string, first: string): Promise<string[]> => (await row(table, first).locator('th, td').allTextContents()).map((t) => t.trim());
    // It refreshes itself: wait for the figures, then compare them with the API's.
    await waitFor(async () => ((await cells('Today by supplier', 'acme').catch(() => []))[1] === '5' ? true : undefined), 20_000, 'the overview to show the leads');
    for (const period of ['Today', 'Last hour'] as const) {
      const figures = overview[period === 'Today' ? 'today' : 'lastHour'];
      const acme = figures.bySupplier[0]!;
      expect(await cells(`${period} by supplier`, 'acme')).toEqual(['acme', String(acme.received), String(acme.sold), String(acme.unsold), acme.netRevenue.toFixed(2)]);
      const a = figures.byDestination[0]!;
      expect(await cells(`${period} by destination`, 'a')).toEqual(['a', String(a.sold), a.netRevenue.toFixed(2)]);
    }
    const states = await api<{ destinations: Array<{ id: string; state: string; circuit: { state: string } }> }>('/v1/admin/destinations');
    for (const d of states.destinations) {
      const shown = await cells('Destinations', d.id);
      expect(shown.slice(0, 4)).toEqual([d.id, d.state, 'open', d.circuit.state]);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'console-overview.png'), fullPage: true });

    // A phone's width: everything stacks, and the page itself never scrolls sideways (tables scroll in their own boxes).
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('table', { name: 'Today by supplier' }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'console-overview-phone.png'), fullPage: true });
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 800 });
  }, 120_000);

  test('a lead found by its phone opens on its timeline; an unsold one is redelivered from there', async () => {
    const phone = uniquePhone();
    const sold = await sell({ phone });
    await waitFor(async () => ((await api<{ leads: unknown[] }>(`/v1/leads?phone=${encodeURIComponent(phone)}`)).leads.length === 1 ? true : undefined), 30_000, 'the ledger to hold the lead');
    await tab('Leads');
    await page.getByLabel('Phone').fill(phone);
    await page.getByRole('button', { name: 'Search' }).click();
    const results = page.getByRole('table', { name: 'Search results' });
    await results.waitFor();
    expect(await results.getByRole('row').count()).toBe(2); // the header and the one lead
    await results.getByRole('link', { name: `Open lead ${sold.id}` }).click();
    await page.getByRole('heading', { name: `Lead ${sold.id}` }).waitFor();
    const timeline = page.getByRole('list', { name: 'Timeline' });
    await timeline.getByRole('listitem').last().waitFor();
    const types = await timeline.locator('li strong').allTextContents();
    expect(types).toEqual(sold.events.map((e) => e.type));
    expect(types).toEqual(['received', 'routed', 'attempt', 'delivered']);
    await expect(timeline.getByRole('listitem').nth(2).textContent()).resolves.toContain('destination: a');
    await page.screenshot({ path: join(SCREENSHOTS, 'console-lead.png'), fullPage: true });

    const unsold = await sell({ source: 'Nowhere' });
    expect(unsold.status).toBe('unsold');
    await page.goto(`${base}/console/#/lead/${unsold.id}`);
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Queued' }).textContent()).resolves.toBe('Queued for a new round of routing.');
    const again = await waitFor(async () => {
      const lead = await sys.lead(unsold.id);
      return lead.events.some((e) => e.type === 'requeued') && lead.status === 'unsold' ? lead : undefined;
    }, 30_000, 'the redelivered lead to end again');
    expect(again.events.filter((e) => e.type === 'requeued')).toHaveLength(1);
  }, 120_000);

  test('pausing a destination in the console: new leads skip it on both worker processes; resuming brings it back', async () => {
    await tab('Destinations');
    await page.getByRole('button', { name: 'Pause a' }).click();
    await page.getByRole('button', { name: 'Resume a' }).waitFor();
    const paused = await api<{ destinations: Array<{ id: string; paused: boolean; state: string; overrides: unknown }> }>('/v1/admin/destinations');
    expect(paused.destinations.find((d) => d.id === 'a')).toMatchObject({ paused: true, state: 'paused', overrides: { paused: true } });

    // In force in every process within a second (contract §11).
    await new Promise((r) => setTimeout(r, 1_000));
    const before = await Promise.all(workers.map((w) => triesAt(w.port, 'b')));
    const aBefore = buyerA.requests.length;
    // Leads in batches until each worker process has taken some (which one takes a job is BullMQ's
    // race, and a loaded machine may give one of them a whole batch), 120 at most.
    const leads: Array<{ destination?: string | null }> = [];
    let after = before;
    while (leads.length < 120 && !after.every((n, i) => n > (before[i] ?? 0))) {
      leads.push(...(await Promise.all(Array.from({ length: 30 }, () => sell()))));
      after = await Promise.all(workers.map((w) => triesAt(w.port, 'b')));
    }
    expect(leads.map((l) => l.destination)).toEqual(leads.map(() => 'b'));
    expect(buyerA.requests.length).toBe(aBefore);
    // Both worker processes delivered some of them to b, and neither to a.
    expect(after.map((n, i) => n > (before[i] ?? 0))).toEqual([true, true]);

    await page.getByRole('button', { name: 'Resume a' }).click();
    await page.getByRole('button', { name: 'Pause a' }).waitFor();
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await sell()).destination).toBe('a');
    const audit = await waitFor(async () => {
      const body = await api<{ events: Array<{ action: string; target: string }> }>('/v1/admin/audit?target=a');
      return body.events.length >= 2 ? body.events : undefined;
    }, 30_000, 'the audit events in the ledger');
    expect(audit.slice(0, 2).map((e) => e.action)).toEqual(['destination.resume', 'destination.pause']);
  }, 180_000);

  test('a cap override set in the console takes effect: a is full after one more sale, the next lead goes to b', async () => {
    type Cap = { limit: number; used: number; left: number } | null;
    const usedToday = async (): Promise<Cap> => (await api<{ destinations: Array<{ id: string; caps: { daily: Cap } }> }>('/v1/admin/destinations')).destinations.find((d) => d.id === 'a')!.caps.daily;
    const sales = (await api<{ destinations: Array<{ id: string; today: { sold: number } }> }>('/v1/admin/destinations')).destinations.find((d) => d.id === 'a')!.today.sold;
    await tab('Destinations');
    await page.getByLabel('daily cap of a').fill(String(sales + 1));
    await page.getByRole('button', { name: 'Save caps of a' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'saved' }).textContent()).resolves.toBe('Caps of a saved.');
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await sell()).destination).toBe('a');
    expect((await sell()).destination).toBe('b');
    expect(await usedToday()).toEqual({ limit: sales + 1, used: sales + 1, left: 0 });

    await page.getByRole('button', { name: 'Clear cap overrides of a' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'cleared' }).textContent()).resolves.toBe('Cap overrides of a cleared.');
    expect(await usedToday()).toBeNull();
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await sell()).destination).toBe('a');
  }, 120_000);

  test('the report: a chart of net revenue by day and source with the API’s figures, a table, and its CSV download', async () => {
    await tab('Reports');
    const table = page.getByRole('table', { name: 'Net revenue by day and source' });
    await table.waitFor();
    const link = page.getByRole('link', { name: 'Download CSV' });
    const query = new URL(String(await link.getAttribute('href')), base).search;
    const report = await api<{ rows: Array<{ day: string; source: string; netRevenue: number; received: number }> }>(`/v1/reports${query}`);
    expect(report.rows.length).toBeGreaterThan(0);

    const canvas = page.getByRole('img', { name: 'Net revenue by day and source' });
    await canvas.waitFor();
    const chart = await page.evaluate(() => {
      const page = globalThis as unknown as PageGlobals;
      const element = page.document.querySelector('canvas');
      const instance = page.Chart.getChart(element);
      return instance && { labels: instance.data.labels, datasets: instance.data.datasets.map((d) => ({ label: d.label, data: d.data })), width: element?.width ?? 0 };
    });
    expect(chart?.width).toBeGreaterThan(0);
    const expected = [...new Set(report.rows.map((r) => r.source))].sort().map((source) => ({
      label: source,
      data: [...new Set(report.rows.map((r) => r.day))].sort().map((day) => report.rows.filter((r) => r.day === day && r.source === source).reduce((s, r) => s + r.netRevenue, 0)),
    }));
    expect(chart?.datasets).toEqual(expected);
    expect(await table.getByRole('row').count()).toBe(report.rows.length + 1);

    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('day,source,received,rejected,accepted,sold,unsold,returned,acceptanceRate,revenue,revenueReturned,netRevenue,supplierPayout,margin,epl');
    expect(csv.slice(1).map((line) => line.split(',').slice(0, 3))).toEqual(report.rows.map((r) => [r.day, r.source, String(r.received)]));
  }, 60_000);

  test('a cross-site POST with the session cookie is refused: from another origin of this host (403) and from another site (401)', async () => {
    const target = `${base}/v1/admin/destinations/a/pause`;
    const attack = await startTestServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><form id="f" method="post" action="${target}"></form><script>document.getElementById('f').submit()</script>`);
    });
    try {
      for (const [host, status] of [['127.0.0.1', 403], ['localhost', 401]] as const) {
        const attacker = await context.newPage();
        const answer = attacker.waitForResponse((res) => res.url() === target);
        await attacker.goto(`http://${host}:${attack.port}/`);
        expect((await answer).status()).toBe(status);
        await attacker.close();
      }
      expect(attack.requests).toHaveLength(2);
      const a = (await api<{ destinations: Array<{ id: string; paused: boolean }> }>('/v1/admin/destinations')).destinations.find((d) => d.id === 'a');
      expect(a?.paused).toBe(false);
    } finally {
      await attack.close();
    }
  }, 60_000);

  test('it loads nothing from the internet: every request of every view went to the intake, and its CSP allows nothing from elsewhere', async () => {
    // The views above ran on this page: sign-in, overview, lead, destinations, report, download.
    expect(requested.length).toBeGreaterThan(20);
    expect(requested.filter((url) => !url.startsWith(`${base}/`))).toEqual([]);
    const csp = (await fetch(`${base}/console/`)).headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp.split(';').every((directive) => !/https?:|\*/.test(directive))).toBe(true);
  }, 60_000);
});

