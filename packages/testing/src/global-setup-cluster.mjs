// The `cluster` jest project's global setup: the suites that prove the contract's guarantees run a
// second time on a Redis Cluster of three masters (contract §12), started here on free ports of
// 127.0.0.1 (about 2 s), in a temporary directory, with AOF on. Tests reach it through
// LR_TEST_REDIS_CLUSTER_URL (see redis.ts: a file of the `cluster` project is in cluster mode).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

export default async function globalSetupCluster() {
  const { redisServerAvailable, startRedisCluster } = await tsImport('../../redis/src/index.ts', import.meta.url);
  if (!redisServerAvailable()) throw new Error('redis-server is not on PATH: install it (Debian: apt-get install redis-server) to run the tests');
  // The suite's single Redis and PostgreSQL: this project's tests need PostgreSQL too, and jest may
  // run this setup before the integration project's (or without it). That setup runs once per run.
  const { default: globalSetup } = await import('./global-setup.mjs');
  await globalSetup();
  const dir = mkdtempSync(join(tmpdir(), 'leadrouter-test-cluster-'));
  const cluster = await startRedisCluster({ dir, masters: 3, appendOnly: true });
  process.env.LR_TEST_REDIS_CLUSTER_URL = cluster.url;
  globalThis.__leadrouterCluster = { cluster, dir };
}
