import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The URL of the suite's private redis-server (started by global-setup). */
export function testRedisUrl(): string {
  const url = process.env.LR_TEST_REDIS_URL;
  if (!url) throw new Error('LR_TEST_REDIS_URL is not set: run the tests with `npm test` (jest global setup starts Redis)');
  return url;
}

/** A key prefix of its own for each test or file, so tests sharing the private Redis never collide. */
export function uniquePrefix(): string {
  return `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

export function testRedisClient(): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
}

/** Every key under a prefix, from the private test Redis. */
export async function keysWithPrefix(client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found;
}
