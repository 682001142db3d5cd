/**
 * `npm run redis:upgrade`: moves a stopped, drained install's Redis (REDIS_URL, LEADROUTER_PREFIX)
 * from the key layout before hash tags to today's (packages/store/src/upgrade-layout.ts; README,
 * "Upgrading the key layout"). Exits 1, moving nothing, while old queues or ledger streams hold work.
 */
import { Redis } from 'ioredis';
import { readEnv } from '@leadrouter/config';
import { maskRedisUrl } from '@leadrouter/redis';
import { upgradeKeyLayout } from '@leadrouter/store';

const env = readEnv();
if (env.redisCluster) {
  console.error('redis:upgrade runs on the single Redis of an install before the cluster layout; point REDIS_URL at it');
  process.exit(1);
}
const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
try {
  const report = await upgradeKeyLayout(redis, env.prefix);
  console.log(`upgraded ${maskRedisUrl(env.redisUrl)} (prefix ${env.prefix}): ${report.moved} keys moved, ${report.members} outbox and index entries moved into their buckets`);
} catch (err) {
  console.error(`redis:upgrade: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
