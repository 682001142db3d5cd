import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { startRedisCluster, type OwnedRedisCluster } from '@leadrouter/redis';
import { startTestServer, type TestServer } from '@leadrouter/testing';
import { closedAfterEach, systemYaml, uniquePhone } from '@leadrouter/testing/system';

/**
 * A master of the Redis Cluster killed (-9) and started again on its AOF while leads pour in
 * (contract §12): leads whose slot it served are refused (503) while it is down, never accepted
 * and then lost; every lead accepted, before, during or after, ends sold, once. A cluster of its
 * own, with appendfsync always: an acknowledged write is on disk before the intake answers 202.
 */
describe('failover', () => {
  const { system } = closedAfterEach();
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  test('kill -9 and restart of one of three masters under load loses no accepted lead and sells none twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lr-failover-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const cluster: OwnedRedisCluster = await startRedisCluster({ dir, masters: 3, appendOnly: true, appendFsync: 'always' });
    cleanup.push(() => cluster.stop());
    const sales = new Map<string, number>();
    const buyer: TestServer = await startTestServer((req, res) => {
      const id = String(req.headers['x-lead-id']);
      sales.set(id, (sales.get(id) ?? 0) + 1);
      res.writeHead(200).end('{}');
    });
    cleanup.push(() => buyer.close());
    const sys = await system(systemYaml(`
destinations:
  - { id: buyer, url: "${buyer.url}/", timeoutMs: 3000 }
routes:
  - { id: all, destinations: [{ id: buyer }] }
`), { env: { redisUrl: cluster.url } });

    const accepted: string[] = [];
    let refused = 0;
    // Anything but a 202 or a 503 `unavailable` (a 500, a dropped connection) is a defect.
    const otherwise: string[] = [];
    let posting = true;
    const poster = (async () => {
      while (posting) {
        const answer = await sys.post({ name: 'Fail Over', phone: uniquePhone(), geo: 'US', source: 'web' }).catch((err: Error) => err);
        if (answer instanceof Error) otherwise.push(answer.message);
        else if (answer.status === 202) accepted.push(answer.body.id as string);
        else if (answer.status === 503 && answer.body.reason === 'unavailable') refused += 1;
        else otherwise.push(`${answer.status} ${JSON.stringify(answer.body)}`);
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    const before = accepted.length;
    await cluster.restartMaster(0, { downMs: 1000 });
    await new Promise((r) => setTimeout(r, 1500));
    posting = false;
    await poster;

    expect(otherwise).toEqual([]);
    expect(before).toBeGreaterThan(20);
    expect(accepted.length).toBeGreaterThan(before);
    for (const id of accepted) expect(await sys.final(id, 60_000)).toMatchObject({ status: 'delivered', destination: 'buyer' });
    // Each accepted lead reached the buyer and is sold once (one `delivered` event).
    for (const id of accepted) {
      const lead = await sys.lead(id);
      expect(lead.events.filter((e) => e.type === 'delivered')).toHaveLength(1);
      expect(sales.get(id) ?? 0).toBeGreaterThanOrEqual(1);
    }
    // Only leads of the dead master's slots, and only while it was down, could be refused: most went through.
    expect(refused).toBeLessThan(accepted.length);
  }, 120_000);
});
