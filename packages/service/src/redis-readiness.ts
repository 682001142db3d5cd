import type { Redis } from 'ioredis';
import type { Logger } from '@leadrouter/logging';
import { ping } from '@leadrouter/redis';
import type { Readiness } from './health.js';

const RECHECK_MS = 60_000;

/**
 * What makes Redis unsafe for leads even though it answers: an eviction policy (Redis may drop
 * queued leads when full) or no persistence at all (a restart loses them). Undefined when Redis
 * does not let us read its config (managed services often rename CONFIG).
 */
async function safetyWarnings(redis: Redis): Promise<string[] | undefined> {
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
 * loudly, once when first seen and again when they change.
 */
export function redisReadiness(redis: Redis, logger: Logger): Readiness {
  let warnings: string[] = [];
  let checkedAt = 0;
  let logged = '';
  return async () => {
    if (!(await ping(redis, 500))) return { reasons: ['redis unreachable'], warnings };
    if (Date.now() - checkedAt > RECHECK_MS) {
      checkedAt = Date.now();
      warnings = (await safetyWarnings(redis)) ?? warnings;
      const key = warnings.join('\n');
      if (key !== logged) {
        logged = key;
        for (const warning of warnings) logger.warn({ check: 'redis' }, `UNSAFE: ${warning}`);
      }
    }
    return { reasons: [], warnings };
  };
}
