import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnAllInOne, waitFor } from '@leadrouter/testing';

/** `npm start` without DATABASE_URL keeps its ledger in PGlite: the same search answers as on PostgreSQL. */
describe('the all-in-one on its embedded ledger (PGlite)', () => {
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  test('a sold lead is found by search and in a report, and the log says the ledger is embedded', async () => {
    const role = await spawnAllInOne({ DATABASE_URL: '' }, 'pipe');
    let stdout = '';
    role.child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    cleanup.push(() => role.stop());
    const base = `http://127.0.0.1:${role.ports.intake}`;
    const key = { 'x-api-key': 'demo-key-change-me' };
    // PGlite's first start (WebAssembly and initdb) takes about 5 s on a quiet machine, far more under a loaded CI.
    await waitFor(() => (stdout.includes('demo supplier API key') ? true : undefined), 60_000, 'the all-in-one to start');
    expect(stdout).toContain('embedded PostgreSQL (PGlite)');
    const res = await fetch(`${base}/v1/leads?wait=10`, {
      method: 'POST',
      headers: { ...key, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Pg Lite', phone: '+14155559876', geo: 'US', source: 'Facebook' }),
    });
    const { id } = (await res.json()) as { id: string };
    const found = await waitFor(async () => {
      const page = (await (await fetch(`${base}/v1/leads`, { headers: key })).json()) as { leads?: Array<{ id: string; status: string }> };
      return page.leads?.find((l) => l.id === id && l.status === 'delivered');
    }, 15_000, 'the lead in the embedded ledger');
    expect(found).toMatchObject({ id, status: 'delivered' });
    const report = (await (await fetch(`${base}/v1/reports`, { headers: key })).json()) as { rows: Array<Record<string, unknown>> };
    expect(report.rows).toEqual([expect.objectContaining({ accepted: 1, sold: 1 })]);
  }, 90_000);

  test('LEADROUTER_LEDGER=off: no ledger (search answers 503), and the log says so; leads are taken and sold as ever', async () => {
    const role = await spawnAllInOne({ DATABASE_URL: '', LEADROUTER_LEDGER: 'off' }, 'pipe');
    let out = '';
    role.child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    cleanup.push(() => role.stop());
    const base = `http://127.0.0.1:${role.ports.intake}`;
    const key = { 'x-api-key': 'demo-key-change-me' };
    await waitFor(() => (out.includes('demo supplier API key') ? true : undefined), 30_000, 'the all-in-one to start');
    expect(out).toContain('lead ledger: off');
    const res = await fetch(`${base}/v1/leads?wait=10`, {
      method: 'POST',
      headers: { ...key, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'No Ledger', phone: '+14155559877', geo: 'US', source: 'Facebook' }),
    });
    const { id } = (await res.json()) as { id: string };
    await waitFor(async () => (((await (await fetch(`${base}/v1/leads/${id}`, { headers: key })).json()) as { status?: string }).status === 'delivered' ? true : undefined), 15_000, 'the lead sold');
    expect((await fetch(`${base}/v1/leads`, { headers: key })).status).toBe(503);
  }, 60_000);
});
