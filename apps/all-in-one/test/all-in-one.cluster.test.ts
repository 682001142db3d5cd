import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { clusterNodes } from '@leadrouter/redis';
import { spawnAllInOne, testRedisUrl, waitFor, type AllInOneProcess } from '@leadrouter/testing';

/**
 * `npm start` with REDIS_CLUSTER_NODES (contract §1, §12): the all-in-one starts no private Redis,
 * says which Redis it uses, reports every master ready, and sells a lead whose `?wait` answer
 * arrives over the cluster's pub/sub.
 */
describe('the all-in-one on a Redis Cluster', () => {
  let aio: AllInOneProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'lr-aio-cluster-'));
  afterAll(async () => {
    await aio?.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  test('REDIS_CLUSTER_NODES: ready on the cluster, and a demo lead is sold with its ?wait answer', async () => {
    const nodes = (clusterNodes(testRedisUrl()) ?? []).map((n) => `${n.host}:${n.port}`).join(',');
    expect(nodes.split(',')).toHaveLength(3);
    aio = await spawnAllInOne({ REDIS_URL: '', REDIS_CLUSTER_NODES: nodes, LEADROUTER_LEDGER_DIR: join(dir, 'ledger') }, 'pipe');
    const intakePort = aio.ports.intake;
    let stdout = '';
    aio.child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    await waitFor(async () => ((await fetch(`http://127.0.0.1:${intakePort}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 30_000, 'the all-in-one ready');
    expect(stdout).toContain('REDIS_CLUSTER_NODES');
    expect(stdout).not.toContain('started a private redis-server');
    const answer = await fetch(`http://127.0.0.1:${intakePort}/v1/leads?wait=10`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'demo-key-change-me' },
      body: JSON.stringify({ name: 'Jane Roe', phone: '+14155550123', geo: 'US', source: 'Facebook' }),
    });
    expect(answer.status).toBe(202);
    expect(await answer.json()).toMatchObject({ status: 'accepted', result: 'delivered' });
  }, 60_000);
});
