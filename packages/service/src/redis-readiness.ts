import type { Logger } from '@leadrouter/logging';
import type { Redis } from 'ioredis';
import { createRedis, maskRedisUrl, masters, ping, waitForRedis, type RedisClient } from '@leadrouter/redis';
import type { Readiness } from './health.js';

const RECHECK_MS = 60_000;

/** Where a process's Redis comes from: said at start, since `npm start` takes any Redis on 6379. */
export type RedisOrigin = 'private' | 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'default';

const ORIGINS: Record<RedisOrigin, string> = {
  private: 'private: the redis-server LeadRouter started for itself, AOF on; it stops with LeadRouter',
  REDIS_URL: 'external, from REDIS_URL',
  REDIS_CLUSTER_NODES: 'a Redis Cluster, from REDIS_CLUSTER_NODES',
  default: 'external: whatever answers on the default address (REDIS_URL is unset); LeadRouter did not start it',
};

/**
 * The warnings logged at start, per Redis address: a /readyz that finds the same ones does not
 * log them again (the all-in-one has three roles, each with its own /readyz).
 */
const reportedAtStart = new Map<string, string>();

const addressOf = (redis: RedisClient): string => masters(redis).map((node) => `${node.options.host ?? ''}:${node.options.port ?? ''}/${node.options.db ?? 0}`).join(',');

function logWarnings(warnings: string[], logger: Logger): void {
  for (const warning of warnings) logger.warn({ check: 'redis' }, `UNSAFE: ${warning}`);
}

/**
 * The start of every process: which Redis it uses (password masked) and where that comes from,
 * then, once it answers (within `waitMs`), a warning for each way it is set to lose leads. Returns
 * those warnings. Never throws: a Redis that is down only means the check waits for /readyz.
 */
export async function reportRedisAtStart(url: string, origin: RedisOrigin, logger: Logger, waitMs = 2000): Promise<string[]> {
  const shown = maskRedisUrl(url);
  logger.info({ redis: shown, origin }, `using Redis at ${shown} (${ORIGINS[origin]})`);
  const client = createRedis(url, 'producer');
  try {
    if (!(await waitForRedis(client, waitMs))) {
      logger.warn({ redis: shown }, `Redis at ${shown} does not answer yet: its persistence and eviction policy are checked on /readyz once it does`);
      return [];
    }
    const warnings = await safetyWarnings(client);
    if (warnings === undefined) {
      logger.warn({ redis: shown }, 'Redis does not let LeadRouter read its config (CONFIG GET): check that it has appendonly yes and maxmemory-policy noeviction');
      return [];
    }
    reportedAtStart.set(addressOf(client), warnings.join('\n'));
    logWarnings(warnings, logger);
    if (warnings.length === 0) logger.info({ redis: shown }, 'Redis is set to keep leads: persistence on, maxmemory-policy noeviction');
    return warnings;
  } finally {
    client.disconnect();
  }
}

/**
 * What makes Redis unsafe for leads even though it answers: an eviction policy (Redis may drop
 * queued leads when full) or no persistence at all (a restart loses them). Undefined when Redis
 * does not let us read its config (managed services often rename CONFIG). On a cluster, each
 * master is asked (each holds its share of the leads), and a warning names the first that has it.
 */
async function safetyWarnings(redis: RedisClient): Promise<string[] | undefined> {
  const nodes = masters(redis);
  const perNode = await Promise.all(nodes.map((node) => nodeWarnings(node)));
  if (perNode.some((w) => w === undefined)) return undefined;
  return [...new Set(perNode.flatMap((w) => w ?? []))];
}

async function nodeWarnings(redis: Redis): Promise<string[] | undefined> {
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    const [, aof] = (await redis.config('GET', 'appendonly')) as [string, string];
    const [, save] = (await redis.config('GET', 'save')) as [string, string];
    const warnings: string[] = [];
    if (policy !== 'noeviction') warnings.push(`Redis maxmemory-policy is "${policy}": when full it may evict queued leads; set noeviction`);
    if (aof !== 'yes' && (save ?? '').trim() === '') {
      warnings.push('Redis has no persistence (appendonly no, no save points): a Redis restart loses every queued lead; set appendonly yes');
    }
    return warnings;
  } catch {
    return undefined;
  }
}

/**
 * /readyz for a role that needs Redis: not ready while Redis does not answer; ready, with
 * warnings, when Redis answers but is configured to lose leads. Those warnings are also logged
 * loudly, once when first seen and again when they change (not again when the process's start,
 * reportRedisAtStart, already said them).
 */
export function redisReadiness(redis: RedisClient, logger: Logger): Readiness {
  let warnings: string[] = [];
  let checkedAt = 0;
  let logged: string | undefined;
  return async () => {
    if (!(await ping(redis, 500))) return { reasons: ['redis unreachable'], warnings };
    if (Date.now() - checkedAt > RECHECK_MS) {
      checkedAt = Date.now();
      warnings = (await safetyWarnings(redis)) ?? warnings;
      const key = warnings.join('\n');
      if (key !== (logged ?? reportedAtStart.get(addressOf(redis)) ?? '')) logWarnings(warnings, logger);
      logged = key;
    }
    return { reasons: [], warnings };
  };
}
