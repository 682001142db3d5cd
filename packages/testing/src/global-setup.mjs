// Jest loads global setup outside its module system, where workspace packages (TypeScript
// sources) cannot be imported directly: tsx's loader imports them instead.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

/**
 * Starts the test suite's own redis-server on a free port, in a temporary directory. Tests reach
 * it through LR_TEST_REDIS_URL and never touch any other Redis (one may run on 6379 already).
 */
export default async function globalSetup() {
  const { redisServerAvailable, startRedisServer } = await tsImport('../../redis/src/redis-server.ts', import.meta.url);
  if (!redisServerAvailable()) {
    throw new Error('redis-server is not on PATH: install it (Debian: apt-get install redis-server) to run the tests');
  }
  const dir = mkdtempSync(join(tmpdir(), 'leadrouter-test-redis-'));
  const server = await startRedisServer({ dir, appendOnly: false });
  process.env.LR_TEST_REDIS_URL = server.url;
  globalThis.__leadrouterRedis = server;
}
