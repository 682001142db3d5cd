import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnAllInOne, waitFor } from '@leadrouter/testing';

/** The intake and postback ports face suppliers and buyers: their /metrics are the business's figures (contract §1). */
describe('METRICS_TOKEN', () => {
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  test('with it set, every port of the all-in-one answers /metrics only with its bearer token; /readyz no longer warns', async () => {
    const token = 'metrics-token-for-tests';
    const role = await spawnAllInOne({ METRICS_TOKEN: token });
    const ports = [role.ports.intake, role.ports.postback, role.ports.worker];
    cleanup.push(() => role.stop());
    for (const port of ports) {
      const url = `http://127.0.0.1:${port}`;
      await waitFor(async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 40_000, `port ${port} ready`);
      for (const authorization of [undefined, 'Bearer wrong', `Basic ${token}`, 'Bearer ', token]) {
        const res = await fetch(`${url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });
        expect(res.status).toBe(401);
        const text = await res.text();
        expect(text).not.toContain('leadrouter_');
      }
      const open = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(open.status).toBe(200);
      expect(await open.text()).toContain('leadrouter_leads_received_total');
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { warnings: string[] };
      expect(ready.warnings.some((w) => w.includes('METRICS_TOKEN'))).toBe(false);
    }
  }, 60_000);

  test('without it, /metrics is open and /readyz warns that it is', async () => {
    const role = await spawnAllInOne({ METRICS_TOKEN: '' });
    const intakePort = role.ports.intake;
    cleanup.push(() => role.stop());
    const url = `http://127.0.0.1:${intakePort}`;
    await waitFor(async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 40_000, 'intake ready');
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { warnings: string[] };
    expect(ready.warnings).toContainEqual(expect.stringContaining('METRICS_TOKEN is unset'));
  }, 60_000);
});
