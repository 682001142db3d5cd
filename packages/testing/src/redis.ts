import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { clusterNodes, masters, newClusterClient, type RedisClient } from '@leadrouter/redis';

/**
 * Whether this test file runs on the suite's Redis Cluster (the `cluster` jest project marks its
 * files, cluster-mode.cjs) rather than on its single Redis.
 */
export function clusterMode(): boolean {
  return (globalThis as { __leadrouterRedisMode?: string }).__leadrouterRedisMode === 'cluster';
}

/**
 * The address of the suite's Redis (started by global setup): its single private redis-server, or,
 * in cluster mode, its three-master cluster (`redis-cluster://...`, which LeadRouter's connections
 * open as a Cluster, and which a role's REDIS_URL may carry as REDIS_CLUSTER_NODES would).
 */
export function testRedisUrl(): string {
  const url = clusterMode() ? process.env.LR_TEST_REDIS_CLUSTER_URL : process.env.LR_TEST_REDIS_URL;
  if (!url) throw new Error('the test Redis is not set: run the tests with `npm test` (jest global setup starts Redis)');
  return url;
}

/** A key prefix of its own for each test or file, so tests sharing the private Redis never collide. */
export function uniquePrefix(): string {
  return `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/**
 * A client of the suite's Redis for a test's own reads and writes. In cluster mode it is a Cluster,
 * typed as a Redis: the tests use commands both have, and a command a cluster refuses (keys of two
 * slots in one call) fails the test, which is the point of running it there.
 */
export function testRedisClient(options: { maxRetriesPerRequest?: number | null } = {}): Redis {
  const redisOptions = { maxRetriesPerRequest: 1, ...options };
  const nodes = clusterNodes(testRedisUrl());
  if (nodes) return newClusterClient(nodes, { redisOptions }) as unknown as Redis;
  return new Redis(testRedisUrl(), redisOptions);
}

/** Every key under a prefix, from the test Redis (each master of a cluster). */
export async function keysWithPrefix(client: RedisClient, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of masters(client)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
  }
  return found;
}
