import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { createRedis, startRedisCluster, waitForRedis, type OwnedRedisCluster, type RedisClient } from '@leadrouter/redis';
import { captureLogger, waitFor } from '@leadrouter/testing';
import { redisReadiness } from '../src/index.js';

/**
 * /readyz on a Redis Cluster (contract §1, §12): every master holds its share of the leads, so one
 * master gone makes the process not ready, though the others still answer a PING; ready again once
 * it is back. A cluster of its own: the test kills one of its masters.
 */
describe('readiness on a Redis Cluster', () => {
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  test('one master down of three: not ready (Redis unreachable); back: ready', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lr-readiness-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const cluster: OwnedRedisCluster = await startRedisCluster({ dir, masters: 3, appendOnly: true });
    cleanup.push(() => cluster.stop());
    const client: RedisClient = createRedis(cluster.url, 'producer');
    cleanup.push(() => client.disconnect());
    const readiness = redisReadiness(client, captureLogger('test', 'info').logger);
    await waitFor(async () => ((await readiness()).reasons.length === 0 ? true : undefined), 10_000, 'ready on the whole cluster');

    const restarted = cluster.restartMaster(1, { downMs: 8_000 });
    await waitFor(async () => ((await readiness()).reasons.includes('redis unreachable') ? true : undefined), 3_000, 'not ready with a master down');
    // Every check says so while it is down, not only those that happen to ask the dead master.
    const checks: string[][] = [];
    for (let i = 0; i < 6; i++) checks.push((await readiness()).reasons);
    expect(checks).toEqual(Array.from({ length: 6 }, () => ['redis unreachable']));
    // The masters left still answer: a PING of the cluster as one client could have said ready.
    const survivor = createRedis(cluster.masters[0]?.url ?? '', 'producer');
    cleanup.push(() => survivor.disconnect());
    expect(await waitForRedis(survivor, 2_000)).toBe(true);
    await restarted;
    await waitFor(async () => ((await readiness()).reasons.length === 0 ? true : undefined), 15_000, 'ready again with the master back');
  }, 60_000);
});
